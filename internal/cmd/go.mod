module github.com/gatehouse-auth/gatehouse/internal/cmd

go 1.26.0

toolchain go1.26.10

require github.com/gatehouse-auth/gatehouse/examples v0.0.0

require (
	github.com/alexedwards/scs/v2 v2.9.0 // indirect
	github.com/gatehouse-auth/gatehouse v0.0.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)

replace github.com/gatehouse-auth/gatehouse => ../..

replace github.com/gatehouse-auth/gatehouse/examples => ../../examples
