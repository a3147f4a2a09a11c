package session

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// errDecode is the internal error for malformed stored bytes. It never
// leaves the package: undecodable Gatehouse values read as "absent".
var errDecode = errors.New("session: malformed stored value")

// Size limits of what Gatehouse itself keeps in one session. Together they
// bound a session to well under MaxSessionSize (see TestSessionSizeBound).
const (
	maxStateLen    = 256
	maxProviderLen = 128
	maxVerifierLen = 256
	maxReturnToLen = 2048
	maxNonceLen    = 256
	maxScopes      = 32
	maxScopeLen    = 64
	// maxIdentityLen bounds an encoded Identity; a larger Raw map is dropped.
	maxIdentityLen = 8 << 10
	// maxTokenLen bounds an encoded token set.
	maxTokenLen = 16 << 10
)

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendTime(b []byte, t time.Time) []byte {
	var n int64
	if !t.IsZero() {
		n = t.UnixNano()
	}
	return binary.AppendVarint(b, n)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// reader decodes the length-prefixed format. The first error sticks; every
// read after it returns zero values. It never panics and never allocates
// more than the input holds.
type reader struct {
	b   []byte
	err error
	// src, when set, holds the bytes b started as: string() then returns
	// substrings of it instead of allocating each one.
	src string
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errDecode
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errDecode
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = errDecode
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errDecode
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string {
	v := r.bytes()
	if r.src == "" || len(v) == 0 {
		return string(v)
	}
	end := len(r.src) - len(r.b)
	return r.src[end-len(v) : end]
}

func (r *reader) time() time.Time {
	n := r.varint()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func (r *reader) bool() bool { return r.byte() == 1 }

// count reads a list length and checks it against max and the bytes left
// (every element takes at least one byte).
func (r *reader) count(max int) int {
	n := r.uvarint()
	if r.err != nil {
		return 0
	}
	if n > uint64(max) || n > uint64(len(r.b)) {
		r.err = errDecode
		return 0
	}
	return int(n)
}

// done reports an error unless everything was consumed.
func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = errDecode
	}
	return r.err
}

func appendToken(b []byte, t *provider.Token) ([]byte, error) {
	if t == nil {
		return appendBytes(b, nil), nil
	}
	tb, err := t.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if len(tb) > maxTokenLen {
		return nil, ErrTooLarge
	}
	return appendBytes(b, tb), nil
}

func (r *reader) token() *provider.Token {
	tb := r.bytes()
	if r.err != nil || len(tb) == 0 {
		return nil
	}
	var t provider.Token
	if err := t.UnmarshalBinary(tb); err != nil {
		r.err = errDecode
		return nil
	}
	return &t
}

// appendIdentity encodes id; a Raw map that would make it larger than
// maxIdentityLen is dropped (Raw is informational), a still too large
// identity is an error.
func appendIdentity(b []byte, id provider.Identity) ([]byte, error) {
	enc := func(raw map[string]any) ([]byte, error) {
		var out []byte
		out = appendString(out, id.Provider)
		out = appendString(out, id.Subject)
		out = appendString(out, id.Name)
		out = appendString(out, id.Email)
		out = appendString(out, id.Picture)
		var rb []byte
		if len(raw) > 0 {
			var err error
			if rb, err = json.Marshal(raw); err != nil {
				return nil, err
			}
		}
		out = appendBytes(out, rb)
		// Added after Raw: values stored before it end here and read
		// back with no SessionID.
		return appendString(out, id.SessionID), nil
	}
	out, err := enc(id.Raw)
	if err != nil || len(out) > maxIdentityLen {
		if out, err = enc(nil); err != nil {
			return nil, err
		}
	}
	if len(out) > maxIdentityLen {
		return nil, ErrTooLarge
	}
	return appendBytes(b, out), nil
}

func (r *reader) identity() provider.Identity {
	ib := r.bytes()
	if r.err != nil {
		return provider.Identity{}
	}
	ir := reader{b: ib, src: string(ib)} // one allocation for all its strings
	var id provider.Identity
	id.Provider = ir.string()
	id.Subject = ir.string()
	id.Name = ir.string()
	id.Email = ir.string()
	id.Picture = ir.string()
	raw := ir.bytes()
	if len(ir.b) > 0 { // absent in values stored before it was added
		id.SessionID = ir.string()
	}
	if ir.done() != nil {
		r.err = errDecode
		return provider.Identity{}
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &id.Raw); err != nil {
			r.err = errDecode
			return provider.Identity{}
		}
	}
	return id
}
