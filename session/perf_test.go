package session

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// TestRecordKeyStable: the store key of a login record is what earlier
// versions computed (records written before an upgrade stay readable),
// also since it is computed without intermediate allocations.
func TestRecordKeyStable(t *testing.T) {
	for _, id := range []string{"", "a", "benchmark-login-id-0001", strings.Repeat("x", 64), strings.Repeat("y", 300)} {
		h := sha256.Sum256([]byte("gatehouse/login-record-key\x00" + id))
		want := "gatehouse:login:" + base64.RawURLEncoding.EncodeToString(h[:])
		if got := recordKey(id); got != want {
			t.Fatalf("recordKey(%q) = %q, want %q", id, got, want)
		}
	}
}
