package session

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/alexedwards/scs/v2"
)

// MaxSessionSize bounds the encoded size of one session (Gatehouse's values
// and the application's). [Codec.Encode] refuses larger sessions with
// [ErrTooLarge]; what Gatehouse itself stores stays far below it (at most
// MaxAttempts attempts and one login, each field bounded).
const MaxSessionSize = 64 << 10

// ErrTooLarge is returned when a value, or a whole session, exceeds the
// size Gatehouse allows.
var ErrTooLarge = errors.New("session: too large")

var (
	sessionMagic = []byte("GHS")
	recordMagic  = []byte("GHR")
)

const codecV1 = 1

// Value kinds of the encoding.
const (
	kindLogin    = 1
	kindAttempts = 2
	// kindIdle is the idle-expiry stamp (see idleSlot): never a value of
	// the session map. Decoders that predate it drop it as unknown.
	kindIdle    = 3
	kindString  = 10
	kindBytes   = 11
	kindBool    = 12
	kindInt     = 13
	kindInt64   = 14
	kindFloat64 = 15
	kindTime    = 16
	kindGob     = 20
)

// Codec is Gatehouse's [scs.Codec]: a versioned, compact binary encoding of a
// session. What Gatehouse stores (login attempts, the login with its
// identity and token set) is encoded field by field, with nothing to
// register; strings, byte slices, bools, ints, floats and times that the
// application stores are encoded natively, and any other value falls back to
// encoding/gob, exactly as scs's default GobCodec would have stored it (so
// the application registers its own types as it already does for scs).
//
// Decoding never fails and never panics: bytes it cannot read (a newer or
// unknown format version, a truncated record) give an empty session, that
// is, "logged out"; a single value it cannot read is dropped. Sessions
// written by scs's GobCodec before Gatehouse was installed are still read.
//
// The zero value is ready to use.
type Codec struct {
	// FallbackLifetime is the deadline, from now, of the empty session
	// that replaces undecodable bytes. Default: 24h (scs's default
	// Lifetime); [New] sets it to the manager's Lifetime.
	FallbackLifetime time.Duration

	// cache, when set (by [New]), remembers recently decoded sessions by
	// their exact bytes.
	cache *decodeCache

	// idleSlot, when set (by [New], for a SessionManager with an
	// IdleTimeout), makes Encode reserve the idle-expiry stamp that
	// [Manager.LoadAndSave] fills in and reads back (see idleStore).
	idleSlot bool
}

var _ scs.Codec = Codec{}

// Encode implements [scs.Codec]. It returns an error wrapping [ErrTooLarge]
// when the session would exceed [MaxSessionSize]. The bytes it returns may
// be shared with its decode cache: the store must not modify them (scs's
// stores never do).
func (c Codec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	if c.cache != nil {
		if b := c.cache.encoded(deadline, values); b != nil {
			if _, _, ok := idleSlotOf(b); ok == c.idleSlot {
				return b, nil
			}
		}
	}
	b := make([]byte, 0, 256)
	b = append(b, sessionMagic...)
	b = append(b, codecV1)
	b = appendTime(b, deadline)
	n := len(values)
	if c.idleSlot {
		n++
	}
	b = binary.AppendUvarint(b, uint64(n))
	if c.idleSlot {
		// First, whatever the keys: its offset depends on the header only.
		b = appendString(b, keyIdle)
		b = append(b, kindIdle, 8)
		b = binary.BigEndian.AppendUint64(b, 0) // 0: unknown (LoadAndSave fills it in)
	}
	var keyBuf [8]string
	keys := keyBuf[:0]
	if len(values) > len(keyBuf) {
		keys = make([]string, 0, len(values))
	}
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		kind, payload, err := encodeValue(values[k])
		if err != nil {
			return nil, fmt.Errorf("session: encode %q: %w", k, err)
		}
		b = appendString(b, k)
		b = append(b, kind)
		b = appendBytes(b, payload)
		if len(b) > MaxSessionSize {
			return nil, fmt.Errorf("session: encoded session exceeds %d bytes: %w", MaxSessionSize, ErrTooLarge)
		}
	}
	if c.cache != nil {
		// Requests that save the same values (those waiting on one
		// refresh take up one new login state) reuse these bytes.
		c.cache.putEncoded(b, deadline, values)
	}
	return b, nil
}

func encodeValue(v any) (byte, []byte, error) {
	switch v := v.(type) {
	case *loginState:
		b, err := v.MarshalBinary()
		return kindLogin, b, err
	case *attemptList:
		b, err := v.MarshalBinary()
		return kindAttempts, b, err
	case string:
		return kindString, []byte(v), nil
	case []byte:
		return kindBytes, v, nil
	case bool:
		return kindBool, appendBool(nil, v), nil
	case int:
		return kindInt, binary.AppendVarint(nil, int64(v)), nil
	case int64:
		return kindInt64, binary.AppendVarint(nil, v), nil
	case float64:
		return kindFloat64, binary.BigEndian.AppendUint64(nil, math.Float64bits(v)), nil
	case time.Time:
		b, err := v.MarshalBinary()
		return kindTime, b, err
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&gobValue{V: v}); err != nil {
		return 0, nil, err
	}
	return kindGob, buf.Bytes(), nil
}

// gobValue carries one application value through encoding/gob with its
// type name, as scs's GobCodec does for the whole map.
type gobValue struct{ V any }

// Decode implements [scs.Codec]. It never returns an error: undecodable
// input is an empty (logged-out) session.
func (c Codec) Decode(b []byte) (time.Time, map[string]any, error) {
	if c.cache != nil {
		if deadline, values, ok := c.cache.get(b); ok {
			return deadline, values, nil
		}
	}
	deadline, values, ok := c.decode(b)
	if !ok {
		return c.fallbackDeadline(), map[string]any{}, nil
	}
	if c.cache != nil && bytes.HasPrefix(b, sessionMagic) {
		c.cache.put(b, deadline, values) // keeps its own copy
		return deadline, values, nil
	}
	return deadline, values, nil
}

func (c Codec) fallbackDeadline() time.Time {
	d := c.FallbackLifetime
	if d <= 0 {
		d = 24 * time.Hour
	}
	return time.Now().Add(d).UTC()
}

func (c Codec) decode(b []byte) (deadline time.Time, values map[string]any, ok bool) {
	if !bytes.HasPrefix(b, sessionMagic) {
		if bytes.HasPrefix(b, recordMagic) || len(b) > MaxSessionSize {
			return time.Time{}, nil, false
		}
		return decodeLegacyGob(b)
	}
	r := reader{b: b[len(sessionMagic):]}
	if r.byte() != codecV1 {
		return time.Time{}, nil, false
	}
	deadline = r.time().UTC()
	n := r.count(math.MaxInt32)
	if r.err != nil {
		return time.Time{}, nil, false
	}
	values = make(map[string]any, min(n, 64))
	for i := 0; i < n; i++ {
		key := r.bytes()
		kind := r.byte()
		payload := r.bytes()
		if r.err != nil {
			return time.Time{}, nil, false
		}
		if kind == kindIdle {
			continue // the store's idle expiry, not a session value
		}
		if v, ok := decodeValue(kind, payload); ok {
			values[internKey(key)] = v
		}
	}
	if r.done() != nil {
		return time.Time{}, nil, false
	}
	return deadline, values, true
}

// internKey is string(k), without an allocation for Gatehouse's own keys.
func internKey(k []byte) string {
	switch string(k) {
	case keyLogin:
		return keyLogin
	case keyAttempts:
		return keyAttempts
	}
	return string(k)
}

func decodeValue(kind byte, p []byte) (any, bool) {
	switch kind {
	case kindLogin:
		var l loginState
		if l.UnmarshalBinary(p) != nil {
			return nil, false
		}
		return &l, true
	case kindAttempts:
		var a attemptList
		if a.UnmarshalBinary(p) != nil {
			return nil, false
		}
		return &a, true
	case kindString:
		return string(p), true
	case kindBytes:
		return bytes.Clone(p), true
	case kindBool:
		r := reader{b: p}
		v := r.bool()
		return v, r.done() == nil
	case kindInt:
		r := reader{b: p}
		v := r.varint()
		return int(v), r.done() == nil && v >= math.MinInt && v <= math.MaxInt
	case kindInt64:
		r := reader{b: p}
		v := r.varint()
		return v, r.done() == nil
	case kindFloat64:
		if len(p) != 8 {
			return nil, false
		}
		return math.Float64frombits(binary.BigEndian.Uint64(p)), true
	case kindTime:
		var t time.Time
		if t.UnmarshalBinary(p) != nil {
			return nil, false
		}
		return t, true
	case kindGob:
		var gv gobValue
		if err := safeGobDecode(p, &gv); err != nil {
			return nil, false
		}
		return gv.V, true
	}
	return nil, false // a kind from a newer version: dropped
}

// decodeLegacyGob reads a session that scs's GobCodec wrote (before
// Gatehouse's Codec was installed). Gatehouse values in it, if any, are
// dropped unless they have the current types.
func decodeLegacyGob(b []byte) (time.Time, map[string]any, bool) {
	aux := struct {
		Deadline time.Time
		Values   map[string]any
	}{}
	if err := safeGobDecode(b, &aux); err != nil {
		return time.Time{}, nil, false
	}
	if aux.Values == nil {
		aux.Values = map[string]any{}
	}
	return aux.Deadline, aux.Values, true
}

// safeGobDecode is gob decoding that turns a panic (gob is not hardened
// against arbitrary input) into an error.
func safeGobDecode(b []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errDecode
		}
	}()
	return gob.NewDecoder(bytes.NewReader(b)).Decode(v)
}

// keyIdle names the idle-expiry stamp in the encoding. It is never a key
// of the session map.
const keyIdle = "gatehouse.idle"

// idleSlotOf finds the idle-expiry stamp of an encoded session: the
// offset of its 8 bytes in b (big-endian Unix nanoseconds of the expiry
// the session was last written with, 0 when unknown) and the session's
// absolute deadline. ok is false when b has no stamp (encoded without an
// IdleTimeout, by another codec or by an older version).
func idleSlotOf(b []byte) (off int, deadline time.Time, ok bool) {
	if !bytes.HasPrefix(b, sessionMagic) {
		return 0, time.Time{}, false
	}
	r := reader{b: b[len(sessionMagic):]}
	if r.byte() != codecV1 {
		return 0, time.Time{}, false
	}
	deadline = r.time()
	if r.uvarint() == 0 {
		return 0, time.Time{}, false
	}
	key := r.bytes()
	kind := r.byte()
	payload := r.bytes()
	if r.err != nil || string(key) != keyIdle || kind != kindIdle || len(payload) != 8 {
		return 0, time.Time{}, false
	}
	return len(b) - len(r.b) - 8, deadline, true
}

// idleStamp reads the stamp at off (see idleSlotOf); zero when unknown.
func idleStamp(b []byte, off int) time.Time {
	n := int64(binary.BigEndian.Uint64(b[off:]))
	if n <= 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// setIdleStamp writes t as the stamp at off.
func setIdleStamp(b []byte, off int, t time.Time) {
	binary.BigEndian.PutUint64(b[off:], uint64(t.UnixNano()))
}
