package session

// Internals the external index tests (package session_test, which can
// import the index backends without an import cycle) look at.

// RandHexForTest, SharedPerTestForTest, LoadSessionForTest and
// CommitSessionForTest share the internal tests' helpers with the
// external ones.
var (
	RandHexForTest       = randHex
	SharedPerTestForTest = sharedPerTest
	LoadSessionForTest   = loadSession
	CommitSessionForTest = commitSession
)

// RecordKeyForTest is the store key of login id's record.
func RecordKeyForTest(id string) string { return recordKey(id) }

// DumpForTest returns every key and value x keeps.
func (x *MemIndex) DumpForTest() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []string
	for h, e := range x.entries {
		out = append(out, h, e.UserKey, e.SIDKey, e.Ref, string(e.Data))
	}
	for k := range x.ended {
		out = append(out, k)
	}
	return out
}
