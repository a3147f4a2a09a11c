package wazo

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

func TestParseTime(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 5, 5, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-05-05T12:00:00", base, true},
		{"2026-05-05T12:00:00.123456", base.Add(123456 * time.Microsecond), true},
		{"2026-05-05T12:00:00.5", base.Add(500 * time.Millisecond), true},
		{"2026-05-05T12:00:00.123456789123", base.Add(123456789), true},
		{"2026-05-05T12:00:00Z", base, true},
		{"2026-05-05T14:00:00.000001+02:00", base.Add(time.Microsecond), true},
		{"2026-05-05 12:00:00", time.Time{}, false},
		{"2026-05-05T12:00", time.Time{}, false},
		{"2026-05-05T12:00:00.", time.Time{}, false},
		{"", time.Time{}, false},
		{"1778000000", time.Time{}, false},
		{strings.Repeat("9", 100), time.Time{}, false},
	} {
		got, err := ParseTime(tc.in)
		if (err == nil) != tc.ok || (tc.ok && !got.Equal(tc.want)) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err == nil && got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) not in UTC", tc.in)
		}
	}
}

func TestParseReplyRejects(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC)
	const ok = `"token":"6f1c0a8e-0000-4000-8000-000000000000","auth_id":"u","utc_issued_at":"2026-05-05T10:00:00.000000","utc_expires_at":"2026-05-05T12:00:00.000000"`
	if tok, err := parseReply([]byte(`{"data":{`+ok+`}}`), now); err != nil || !tok.Expiry.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("good reply: %v %v", tok, err)
	}
	for _, body := range []string{
		``, `null`, `[]`, `{}`, `{"data":null}`, `{"data":[]}`, `{"data":{}}`, `{"data":{` + ok + `}} trailing`,
		`{"data":{"token":"","auth_id":"u","utc_expires_at":"2026-05-05T12:00:00"}}`,
		`{"data":{"token":5,"auth_id":"u","utc_expires_at":"2026-05-05T12:00:00"}}`,
		`{"data":{"token":"a b","auth_id":"u","utc_expires_at":"2026-05-05T12:00:00"}}`,
		`{"data":{"token":"a\r\nX-Evil: 1","auth_id":"u","utc_expires_at":"2026-05-05T12:00:00"}}`,
		`{"data":{"token":"t","auth_id":"u"}}`,
		`{"data":{"token":"t","auth_id":"u","utc_expires_at":1778000000}}`,
		`{"data":{"token":"t","auth_id":"u","utc_expires_at":"tomorrow"}}`,
		`{"data":{"token":"t","auth_id":"u","utc_issued_at":"2026-05-05T12:00:00","utc_expires_at":"2026-05-05T12:00:00"}}`,
		`{"data":{"token":"t","utc_expires_at":"2026-05-05T12:00:00"}}`,
		`{"data":{"token":"t","auth_id":"u","refresh_token":7,"utc_expires_at":"2026-05-05T12:00:00"}}`,
		`{"data":{"token":"t","auth_id":"u","acl":"a b","metadata":[],"utc_expires_at":"2026-05-05T12:00:00"}}`,
		`{"data":{"token":"t","auth_id":"u","acl":[1],"utc_expires_at":"2026-05-05T12:00:00"}}`,
	} {
		if tok, err := parseReply([]byte(body), now); err == nil {
			t.Errorf("parseReply(%s) = %v, want an error", body, tok)
		}
	}
}

// FuzzParseLoginReply: the reply parser never panics, and whatever it
// accepts is a usable token with a user and a future-or-absolute expiry.
func FuzzParseLoginReply(f *testing.F) {
	for _, s := range []string{
		`{"data":{"token":"6f1c0a8e-0000-4000-8000-000000000000","auth_id":"u","metadata":{"uuid":"u","tenant_uuid":"t"},"acl":["a.#"],"refresh_token":"r","utc_issued_at":"2026-05-05T10:00:00.123456","utc_expires_at":"2026-05-05T12:00:00.123456"}}`,
		`{"data":{"token":"t","xivo_user_uuid":"u","utc_expires_at":"2026-05-05T12:00:00"}}`,
		`{"data":{"token":"t","auth_id":"u","utc_issued_at":"x","utc_expires_at":"2026-05-05T12:00:00.5Z"}}`,
		`{"reason":["Authentication Failed"],"timestamp":[1.5],"status_code":401}`,
		`{"data":{"token":"t","auth_id":"u","utc_issued_at":"0001-01-01T00:00:00","utc_expires_at":"9999-12-31T23:59:59.999999"}}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := parseReply(body, now)
		if err != nil {
			if tok != nil {
				t.Fatal("token with an error")
			}
			return
		}
		if tok.AccessToken == "" || tok.Expiry.IsZero() || tok.TokenType != TokenType {
			t.Fatalf("accepted an unusable token: %v", tok)
		}
		if sub, _ := tok.Extra[ExtraUserUUID].(string); sub == "" {
			t.Fatal("accepted a reply without a user")
		}
		if _, err := tok.MarshalBinary(); err != nil {
			t.Fatalf("accepted token does not encode: %v", err)
		}
	})
}

func TestDecodeErrorKinds(t *testing.T) {
	t.Parallel()
	for status, kind := range map[int]error{
		400: provider.ErrRejected, 401: provider.ErrUnauthorized, 403: provider.ErrRejected,
		404: provider.ErrRejected, 429: provider.ErrUnavailable, 500: provider.ErrUnavailable, 503: provider.ErrUnavailable,
	} {
		if e := DecodeError(status, nil, nil); !errors.Is(e.Kind, kind) {
			t.Errorf("DecodeError(%d).Kind = %v, want %v", status, e.Kind, kind)
		}
	}
}
