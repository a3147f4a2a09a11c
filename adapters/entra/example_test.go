package entra_test

import (
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/adapters/entra"
)

// ExampleNew configures a multi-tenant app for the work accounts of two
// customer tenants. New fetches nothing (the keys are read at the first
// login), so the example runs as is.
func ExampleNew() {
	p, err := entra.New(context.Background(), entra.Config{
		Tenant:         entra.TenantOrganizations,
		AllowedTenants: []string{"aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"},
		ClientID:       "11111111-2222-3333-4444-555555555555",
		ClientSecret:   "s3cret~value",
		RedirectURL:    "https://app.example/auth/entra/callback",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Config().Issuer)
	fmt.Println(p.Endpoints().Authorization)
	// Output:
	// https://login.microsoftonline.com/{tenantid}/v2.0
	// https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize
}

// ExampleObjectID keys the app's own user records on (tid, oid), which
// stay the same across app registrations, unlike the pairwise sub.
func ExampleObjectID() {
	id := exampleIdentity()
	if tid, oid, ok := entra.ObjectID(id); ok {
		fmt.Println(tid + "/" + oid)
	}
	// Output: aaaaaaaa-0000-4000-8000-000000000001/00000000-0000-4000-8000-0000000000aa
}
