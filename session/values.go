package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/gob"
	"slices"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// Keys of Gatehouse's values in the scs session map. Applications must not
// use keys starting with "gatehouse.".
const (
	keyLogin    = "gatehouse.login"
	keyAttempts = "gatehouse.attempts"
)

const valueV1 = 1

// loginState is the login as kept in the session map (the per-browser copy).
// The authoritative token set lives in the login record (see record); the
// copy here serves the hot path without a second store read, and Version
// tells whether the record has moved on.
type loginState struct {
	ID          string
	Provider    string
	Identity    provider.Identity
	Token       *provider.Token
	LoginAt     time.Time
	RefreshedAt time.Time
	Version     uint64
	Device      string // short client description for the session list; may be empty
}

// MarshalBinary implements encoding.BinaryMarshaler (also used by gob when
// the application keeps scs's GobCodec).
func (l *loginState) MarshalBinary() ([]byte, error) {
	b := []byte{valueV1}
	b = appendString(b, l.ID)
	b = appendString(b, l.Provider)
	var err error
	if b, err = appendIdentity(b, l.Identity); err != nil {
		return nil, err
	}
	if b, err = appendToken(b, l.Token); err != nil {
		return nil, err
	}
	b = appendTime(b, l.LoginAt)
	b = appendTime(b, l.RefreshedAt)
	b = binary.AppendUvarint(b, l.Version)
	if l.Device != "" {
		b = appendString(b, l.Device) // optional trailing field
	}
	return b, nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler. Unknown versions
// and malformed input are errors (the caller treats them as logged out).
func (l *loginState) UnmarshalBinary(p []byte) error {
	r := reader{b: p}
	if r.byte() != valueV1 {
		return errDecode
	}
	var out loginState
	out.ID = r.string()
	out.Provider = r.string()
	out.Identity = r.identity()
	out.Token = r.token()
	out.LoginAt = r.time()
	out.RefreshedAt = r.time()
	out.Version = r.uvarint()
	if r.err == nil && len(r.b) > 0 { // absent in values stored before it was added
		out.Device = r.string()
	}
	if r.done() != nil || out.ID == "" {
		return errDecode
	}
	*l = out
	return nil
}

func (l *loginState) login() *Login {
	return &Login{
		ID:          l.ID,
		Provider:    l.Provider,
		Identity:    cloneIdentity(l.Identity),
		Token:       cloneToken(l.Token),
		LoginAt:     l.LoginAt,
		RefreshedAt: l.RefreshedAt,
		Device:      l.Device,
	}
}

// cloneToken is t.Clone with Extra copied in depth (a decoded login may be
// shared between requests by the Codec's decode cache).
func cloneToken(t *provider.Token) *provider.Token {
	if t == nil || t.Extra == nil {
		return t.Clone()
	}
	// As t.Clone, without its shallow copy of Extra that the deep one
	// would replace at once.
	c := *t
	c.Scopes = slices.Clone(t.Scopes)
	c.Extra = cloneJSONMap(t.Extra)
	return &c
}

// cloneIdentity copies id, Raw in depth (a decoded login may be shared
// between requests by the Codec's decode cache).
func cloneIdentity(id provider.Identity) provider.Identity {
	if id.Raw != nil {
		id.Raw = cloneJSONMap(id.Raw)
	}
	return id
}

// cloneJSONMap deep-copies a map as decoded by encoding/json (nested maps
// and slices are copied; other values are immutable).
func cloneJSONMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneJSONValue(v)
	}
	return out
}

func cloneJSONValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneJSONMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cloneJSONValue(e)
		}
		return out
	}
	return v
}

// attemptList is the pending login attempts of a session, oldest first.
type attemptList struct {
	items []Attempt
}

// MarshalBinary implements encoding.BinaryMarshaler.
func (a *attemptList) MarshalBinary() ([]byte, error) {
	b := []byte{valueV1}
	b = binary.AppendUvarint(b, uint64(len(a.items)))
	for _, at := range a.items {
		b = appendString(b, at.State)
		b = appendString(b, at.Provider)
		b = appendString(b, at.Verifier)
		b = appendString(b, at.ReturnTo)
		b = appendString(b, at.Nonce)
		b = binary.AppendUvarint(b, uint64(len(at.Scopes)))
		for _, s := range at.Scopes {
			b = appendString(b, s)
		}
		b = appendBool(b, at.Implicit)
		b = appendTime(b, at.Created)
	}
	return b, nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (a *attemptList) UnmarshalBinary(p []byte) error {
	r := reader{b: p}
	if r.byte() != valueV1 {
		return errDecode
	}
	n := r.count(maxAttemptsLimit)
	items := make([]Attempt, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		var at Attempt
		at.State = r.string()
		at.Provider = r.string()
		at.Verifier = r.string()
		at.ReturnTo = r.string()
		at.Nonce = r.string()
		ns := r.count(maxScopes)
		for j := 0; j < ns && r.err == nil; j++ {
			at.Scopes = append(at.Scopes, r.string())
		}
		at.Implicit = r.bool()
		at.Created = r.time()
		items = append(items, at)
	}
	if r.done() != nil {
		return errDecode
	}
	a.items = items
	return nil
}

// maxAttemptsLimit is the largest MaxAttempts accepted by New.
const maxAttemptsLimit = 8

// registerGob lets scs's GobCodec carry Gatehouse's values when the
// application keeps it (they are encoded through MarshalBinary).
func registerGob() {
	gob.Register(&loginState{})
	gob.Register(&attemptList{})
}

// record is the authoritative state of one login, kept in the store under
// its own key (recordKey), outside the session map. Only a holder of the
// login's lock writes it, so a request that commits its (possibly stale)
// session map afterwards can never bring an old token set back: refreshes
// always start from the record.
//
// The record is sealed (AES-GCM) with a key derived from the login ID, and
// its store key is a hash of the ID: whoever can read the store but does
// not know the ID learns neither the session token nor the tokens from it.
type record struct {
	Version      uint64
	SessionToken string // the scs session token holding this login
	Provider     string
	Token        *provider.Token
	RefreshedAt  time.Time
	Deadline     time.Time // the session's absolute expiry; the record's too
}

func recordKey(loginID string) string {
	const label, prefix = "gatehouse/login-record-key\x00", "gatehouse:login:"
	// One allocation (the result): every bearer request computes it.
	in := make([]byte, 0, 128)
	h := sha256.Sum256(append(append(in, label...), loginID...))
	var out [len(prefix) + 43]byte // 43: unpadded base64 of 32 bytes
	copy(out[:], prefix)
	base64.RawURLEncoding.Encode(out[len(prefix):], h[:])
	return string(out[:])
}

func recordAEAD(loginID string) (cipher.AEAD, error) {
	k := sha256.Sum256([]byte("gatehouse/login-record-seal\x00" + loginID))
	blk, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(blk)
}

func (rec *record) seal(loginID string) ([]byte, error) {
	p := []byte{valueV1}
	p = binary.AppendUvarint(p, rec.Version)
	p = appendString(p, rec.SessionToken)
	p = appendString(p, rec.Provider)
	var err error
	if p, err = appendToken(p, rec.Token); err != nil {
		return nil, err
	}
	p = appendTime(p, rec.RefreshedAt)
	p = appendTime(p, rec.Deadline)
	aead, err := recordAEAD(loginID)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(recordMagic)+1+aead.NonceSize()+len(p)+aead.Overhead())
	out = append(out, recordMagic...)
	out = append(out, valueV1)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, p, out[:len(recordMagic)+1]), nil
}

func openRecord(loginID string, b []byte) (*record, error) {
	aead, err := recordAEAD(loginID)
	if err != nil {
		return nil, err
	}
	hdr := len(recordMagic) + 1
	if len(b) < hdr+aead.NonceSize() || string(b[:len(recordMagic)]) != string(recordMagic) || b[len(recordMagic)] != valueV1 {
		return nil, errDecode
	}
	p, err := aead.Open(nil, b[hdr:hdr+aead.NonceSize()], b[hdr+aead.NonceSize():], b[:hdr])
	if err != nil {
		return nil, errDecode
	}
	r := reader{b: p}
	if r.byte() != valueV1 {
		return nil, errDecode
	}
	var rec record
	rec.Version = r.uvarint()
	rec.SessionToken = r.string()
	rec.Provider = r.string()
	rec.Token = r.token()
	rec.RefreshedAt = r.time()
	rec.Deadline = r.time()
	if r.done() != nil {
		return nil, errDecode
	}
	return &rec, nil
}
