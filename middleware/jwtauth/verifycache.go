package jwtauth

import (
	"hash/maphash"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// verifiedCacheSize bounds the cache of verified tokens: about 1 KiB each
// (the token and its claims), so at most about 1 MiB.
const verifiedCacheSize = 1024

// verifiedCache remembers the claims of tokens whose signature, header and
// claims [Authority.Verify] has checked, keyed by the exact token (a hash
// to find the entry, then a comparison of the whole string), so that an API
// client sending the same token on every request does not pay for the
// JSON decoding and the signature check each time. What depends on the
// time (exp, nbf, iat, with the leeway) is checked again on every hit;
// everything else about a token is fixed once it verified, since an
// Authority's keys and settings never change. Revocation does not depend
// on it: the middleware reads the token's session on every request.
//
// A token is admitted on its second verification: the first only marks
// its hash in a fixed table (seen), so a token sent once — most of them
// when every request carries a new one — costs no copy and pushes no
// reused token out. Eviction is first in, first out over a fixed ring of
// slots.
type verifiedCache struct {
	seed    maphash.Seed
	mu      sync.Mutex
	entries map[uint64]*verifiedEntry
	ring    []uint64
	pos     int
	seen    [seenSlots]uint64 // hashes of tokens verified once; a collision only delays admission
}

// seenSlots is the size of the table of tokens verified once (8 KiB): as
// many as the cache holds, since a token that comes back only after more
// other tokens than that would have left the cache before its next use.
const seenSlots = verifiedCacheSize

type verifiedEntry struct {
	token  string
	claims Claims      // never changed; handed out as copies
	parts  claimsParts // what claims points to
}

func newVerifiedCache(size int) *verifiedCache {
	return &verifiedCache{seed: maphash.MakeSeed(), entries: make(map[uint64]*verifiedEntry, size), ring: make([]uint64, 0, size)}
}

func (c *verifiedCache) get(token string) *Claims {
	h := maphash.String(c.seed, token)
	c.mu.Lock()
	e := c.entries[h]
	c.mu.Unlock()
	if e == nil || e.token != token {
		return nil
	}
	return &e.claims
}

// put remembers a copy of claims, verified for token, when token was
// verified before (see seen).
func (c *verifiedCache) put(token string, claims *Claims) {
	h := maphash.String(c.seed, token)
	c.mu.Lock()
	if slot := &c.seen[h%seenSlots]; *slot != h {
		*slot = h
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	e := &verifiedEntry{token: token}
	copyClaims(&e.claims, claims, &e.parts)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[h]; !ok {
		if cap(c.ring) == 0 {
			return
		}
		if len(c.ring) < cap(c.ring) {
			c.ring = append(c.ring, h)
		} else {
			delete(c.entries, c.ring[c.pos])
			c.ring[c.pos] = h
			c.pos = (c.pos + 1) % len(c.ring)
		}
	}
	c.entries[h] = e
}

// claimsParts holds what a Claims points to, so a deep copy of one costs
// a single allocation (with claimsBox).
type claimsParts struct {
	exp, nbf, iat jwt.NumericDate
	aud           [1]string
}

// claimsBox is a Claims and its parts in one allocation.
type claimsBox struct {
	c Claims
	p claimsParts
}

// copyClaims makes dst a deep copy of src, its pointers into p.
func copyClaims(dst, src *Claims, p *claimsParts) {
	*dst = *src
	dst.ExpiresAt = copyDate(&p.exp, src.ExpiresAt)
	dst.NotBefore = copyDate(&p.nbf, src.NotBefore)
	dst.IssuedAt = copyDate(&p.iat, src.IssuedAt)
	switch len(src.Audience) {
	case 0:
	case 1:
		p.aud[0] = src.Audience[0]
		dst.Audience = p.aud[:1:1]
	default:
		dst.Audience = append(jwt.ClaimStrings(nil), src.Audience...)
	}
}

func copyDate(dst, src *jwt.NumericDate) *jwt.NumericDate {
	if src == nil {
		return nil
	}
	*dst = *src
	return dst
}

// cachedClaims returns a copy of the cached claims of token when they are
// still valid now (exp, nbf and iat within the leeway, as the parser
// checks them), errNotCached when token is not cached.
func (a *Authority) cachedClaims(token string) (*Claims, error) {
	c := a.verified.get(token)
	if c == nil {
		return nil, errNotCached
	}
	now := a.now()
	switch {
	case c.ExpiresAt == nil || !now.Before(c.ExpiresAt.Add(a.leeway)):
		return nil, errExpired
	case c.IssuedAt != nil && now.Before(c.IssuedAt.Add(-a.leeway)):
		return nil, errIssuedFuture
	case c.NotBefore != nil && now.Before(c.NotBefore.Add(-a.leeway)):
		return nil, errNotYetValid
	}
	b := new(claimsBox)
	copyClaims(&b.c, c, &b.p)
	return &b.c, nil
}

// errNotCached is internal: the token must be verified in full.
var errNotCached error = InvalidTokenError{"not cached"}
