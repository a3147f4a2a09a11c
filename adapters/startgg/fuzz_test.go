package startgg

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// FuzzStartggReply feeds arbitrary bytes to every parser of start.gg
// replies: the token reply (as the adapter parses it), the error decoders
// of the token endpoint and the API, and the GraphQL reply and currentUser
// parsers. None may panic; every failure must be typed.
func FuzzStartggReply(f *testing.F) {
	seeds := []string{
		`{"access_token":"a","token_type":"Bearer","expires_in":604800,"refresh_token":"r"}`,
		`{"access_token":"a","token_type":"bearer","expires_in":"604800"}`,
		`{"success":false,"message":"Invalid authentication token"}`,
		`{"success":false,"message":"Rate limit exceeded - api-token"}`,
		`{"success":false,"fields":null,"message":"Query complexity too high."}`,
		`{"error":"invalid_grant","error_description":"x"}`,
		`{"data":{"currentUser":{"id":123456,"slug":"user/1a2b3c4d","name":"N","discriminator":"1a2b3c4d","email":"x@y.z","player":{"id":9,"gamerTag":"T","prefix":null}}}}`,
		`{"data":{"currentUser":{"id":"123456"}}}`,
		`{"data":{"currentUser":null},"errors":[{"message":"no"}]}`,
		`{"data":{"currentUser":{"id":1e3}}}`,
		`{"errors":[1,{"message":5},{"message":""}]}`,
		`{"data":{"currentUser":{"id":"\u0000"}}}`,
		`null`, `[]`, `{}`, `"x"`, ``,
	}
	for _, s := range seeds {
		f.Add([]byte(s), 200)
		f.Add([]byte(s), 400)
	}
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		now := time.Unix(1700000000, 0)
		if tok, err := provider.ParseToken(body, "application/json", now, provider.ParseOptions{}); err == nil {
			if tok.AccessToken == "" {
				t.Fatal("ParseToken accepted a reply without an access token")
			}
		} else if !errors.Is(err, provider.ErrBadResponse) {
			t.Fatalf("ParseToken error %v is not ErrBadResponse", err)
		}
		for _, dec := range []provider.ErrorDecoder{DecodeError, decodeAPIError} {
			if e := dec(status, http.Header{}, body); e == nil {
				t.Fatal("decoder returned nil")
			} else if len(e.Description) > maxMessageLen {
				t.Fatalf("Description of %d bytes not bounded", len(e.Description))
			}
		}
		data, err := ParseGraphQLReply(body)
		if err != nil {
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Kind == nil {
				t.Fatalf("ParseGraphQLReply error %v is not a typed *provider.Error", err)
			}
		} else if !json.Valid(data) {
			t.Fatalf("ParseGraphQLReply returned invalid JSON data %q", data)
		}
		id, err := ParseCurrentUser(body)
		if err == nil && (id.Subject == "" || len(id.Subject) > maxSubjectLen) {
			t.Fatalf("ParseCurrentUser accepted subject %q", id.Subject)
		}
	})
}
