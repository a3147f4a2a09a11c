package session

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// TestLoginEncodingOldValues: a login stored before Identity.SessionID and
// Device were encoded still decodes; a new one keeps both.
func TestLoginEncodingOldValues(t *testing.T) {
	t.Parallel()
	// The old identity encoding: five strings and Raw, nothing after.
	var idb []byte
	for _, s := range []string{"p", "sub-1", "Ada", "ada@example.com", ""} {
		idb = appendString(idb, s)
	}
	idb = appendBytes(idb, nil)
	old := []byte{valueV1}
	old = appendString(old, "login-id")
	old = appendString(old, "p")
	old = appendBytes(old, idb)
	old, _ = appendToken(old, &provider.Token{AccessToken: "at"})
	old = appendTime(old, time.Unix(100, 0))
	old = appendTime(old, time.Time{})
	old = append(old, 3) // Version
	var ls loginState
	if err := ls.UnmarshalBinary(old); err != nil {
		t.Fatalf("old value no longer decodes: %v", err)
	}
	if ls.Identity.Subject != "sub-1" || ls.Identity.SessionID != "" || ls.Device != "" || ls.Version != 3 {
		t.Errorf("old value decoded as %+v", ls)
	}
	ls.Identity.SessionID, ls.Device = "op-sid", "Safari on iOS"
	b, err := ls.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back loginState
	if err := back.UnmarshalBinary(b); err != nil || back.Identity.SessionID != "op-sid" || back.Device != "Safari on iOS" {
		t.Errorf("round trip: %v %+v", err, back)
	}
}

func TestDeviceSummary(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ given, expect string }{
		{"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "Safari on iOS"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0", "Edge on Windows"},
		{"curl/8.5.0", "curl"},
		{"", ""},
	} {
		if got := DeviceSummary(tc.given); got != tc.expect {
			t.Errorf("DeviceSummary(%q) = %q, want %q", tc.given, got, tc.expect)
		}
	}
}
