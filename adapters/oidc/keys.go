package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// keySet is the OP's JWKS, cached. It implements go-oidc's KeySet (the
// signature step of its verifier) with the rules go-oidc's RemoteKeySet
// lacks:
//
//   - a token whose kid the cache does not know causes at most one refetch
//     per interval (per provider), so junk tokens cannot make Gatehouse
//     hammer the OP; the interval counts from the last such refetch, so the
//     first token signed with a freshly published key always gets one;
//   - a token without kid verifies only when exactly one key matches its
//     alg (and use), never by trying every key (OpenID Connect Core
//     §10.1);
//   - the cache is fetched again after ttl, so withdrawn keys stop working;
//   - a failed fetch is not tried again within interval (the cached keys,
//     if any, are used meanwhile), so an OP whose JWKS is unreachable is
//     not asked once per token either.
//
// It is safe for concurrent use.
type keySet struct {
	client   *provider.Client
	url      string
	algs     []jose.SignatureAlgorithm
	interval time.Duration
	ttl      time.Duration
	now      func() time.Time
	log      *slog.Logger
	name     string

	fetchMu sync.Mutex // one fetch at a time

	mu          sync.Mutex
	keys        []jose.JSONWebKey
	fetchedAt   time.Time // last successful fetch
	gen         uint64    // successful fetches so far; 0: never
	lastRefetch time.Time // last refetch caused by an unknown key; zero: none
	failedAt    time.Time // last failed fetch of current(); zero: none
	failErr     error     // its error
}

func newKeySet(c *provider.Client, url string, algs []string, interval, ttl time.Duration, now func() time.Time, log *slog.Logger, name string) *keySet {
	ks := &keySet{client: c, url: url, interval: interval, ttl: ttl, now: now, log: log, name: name}
	for _, a := range algs {
		ks.algs = append(ks.algs, jose.SignatureAlgorithm(a))
	}
	return ks
}

// sigState carries, through go-oidc's verifier (which flattens the key
// set's error into text), whether the key set failed because the OP was
// unreachable.
type sigState struct{ unavailable error }

type sigStateKey struct{}

// errNoKey means no key of the JWKS fits the token (unknown kid, or no key
// for its alg).
var errNoKey = errors.New("no key of the OP's JWKS matches the token's kid and alg")

// VerifySignature implements go-oidc's KeySet: it parses the compact JWS
// (only the accepted algorithms), picks the key and checks the signature,
// and returns the payload.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	st, _ := ctx.Value(sigStateKey{}).(*sigState)
	jws, err := jose.ParseSignedCompact(raw, k.algs)
	if err != nil {
		return nil, fmt.Errorf("malformed JWS: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("not exactly one signature")
	}
	h := jws.Signatures[0].Protected
	kid, alg := h.KeyID, h.Algorithm
	keys, seen, err := k.current(ctx)
	if err != nil {
		if st != nil {
			st.unavailable = err
		}
		return nil, err
	}
	payload, err := verifyWith(jws, keys, kid, alg)
	if !errors.Is(err, errNoKey) {
		return payload, err
	}
	// The cache holds no key for this token: the OP may have rotated.
	keys, err = k.refetch(ctx, seen)
	if err != nil {
		if st != nil && !errors.Is(err, errRateLimited) {
			st.unavailable = err
		}
		return nil, fmt.Errorf("%w (%w)", errNoKey, err)
	}
	return verifyWith(jws, keys, kid, alg)
}

// verifyWith checks jws against the one key it names (kid) or, without
// kid, the single key that fits alg.
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid, alg string) ([]byte, error) {
	var cands []*jose.JSONWebKey
	for i := range keys {
		key := &keys[i]
		if kid != "" && key.KeyID != kid {
			continue
		}
		if (key.Use != "" && key.Use != "sig") || (key.Algorithm != "" && key.Algorithm != alg) || !fits(key.Key, alg) {
			continue
		}
		cands = append(cands, key)
	}
	switch {
	case len(cands) == 0:
		return nil, errNoKey
	case kid == "" && len(cands) > 1:
		return nil, fmt.Errorf("the token names no key (kid) and %d keys of the JWKS match its alg %s", len(cands), alg)
	}
	for _, key := range cands {
		if payload, err := jws.Verify(key.Key); err == nil {
			return payload, nil
		}
	}
	return nil, errors.New("signature does not verify")
}

// fits reports whether pub is a public key of the type alg needs.
func fits(pub any, alg string) bool {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		k, ok := pub.(*rsa.PublicKey)
		return ok && k.N.BitLen() >= 2048
	case "ES256", "ES384", "ES512":
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		want := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		return k.Curve == want
	case "EdDSA":
		_, ok := pub.(ed25519.PublicKey)
		return ok
	}
	return false
}

// current returns the cached keys, fetching them first when there are none
// or they are older than ttl (stale keys are kept when that fetch fails),
// and the generation they come from.
func (k *keySet) current(ctx context.Context) ([]jose.JSONWebKey, uint64, error) {
	k.mu.Lock()
	keys, gen, at := k.keys, k.gen, k.fetchedAt
	k.mu.Unlock()
	if gen != 0 && k.now().Sub(at) < k.ttl {
		return keys, gen, nil
	}
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	k.mu.Lock()
	if k.gen != gen { // fetched while we waited
		keys, gen = k.keys, k.gen
		k.mu.Unlock()
		return keys, gen, nil
	}
	if !k.failedAt.IsZero() && k.now().Sub(k.failedAt) < k.interval {
		// The last fetch failed a moment ago: not again per token.
		err := k.failErr
		k.mu.Unlock()
		if gen == 0 {
			return nil, 0, err
		}
		return keys, gen, nil
	}
	k.mu.Unlock()
	fresh, err := k.fetch(ctx)
	if err != nil {
		k.mu.Lock()
		k.failedAt, k.failErr = k.now(), err
		k.mu.Unlock()
		if gen == 0 {
			return nil, 0, err
		}
		k.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse: JWKS refetch failed; using the cached keys",
			slog.String("provider", k.name), slog.String("error", err.Error()))
		return keys, gen, nil
	}
	return fresh, k.store(fresh), nil
}

var errRateLimited = errors.New("JWKS refetched too recently")

// refetch fetches the JWKS again for a token the keys of generation seen
// did not cover, unless another request already did, or the last such refetch
// is less than interval ago.
func (k *keySet) refetch(ctx context.Context, seen uint64) ([]jose.JSONWebKey, error) {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	k.mu.Lock()
	if k.gen != seen {
		keys := k.keys
		k.mu.Unlock()
		return keys, nil
	}
	now := k.now()
	if !k.lastRefetch.IsZero() && now.Sub(k.lastRefetch) < k.interval {
		k.mu.Unlock()
		return nil, errRateLimited
	}
	k.lastRefetch = now
	k.mu.Unlock()
	fresh, err := k.fetch(ctx)
	if err != nil {
		return nil, err
	}
	k.store(fresh)
	return fresh, nil
}

func (k *keySet) store(keys []jose.JSONWebKey) uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = keys
	k.fetchedAt = k.now()
	k.gen++
	k.failedAt, k.failErr = time.Time{}, nil
	return k.gen
}

// fetch reads the JWKS (bounded: timeout, 1 MiB, no redirects). Keys that
// cannot be used (unknown kty or curve, symmetric or private keys, small
// RSA keys) are skipped, as RFC 7517 §5 asks.
func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	resp, err := k.client.Do(ctx, "jwks", provider.Request{URL: k.url})
	if err != nil {
		return nil, err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(resp.Body, &set); err != nil {
		return nil, &provider.Error{Provider: k.name, Op: "jwks", Kind: provider.ErrBadResponse, Err: errors.New("malformed JWKS")}
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var key jose.JSONWebKey
		if json.Unmarshal(raw, &key) != nil || !key.Valid() || !key.IsPublic() {
			continue
		}
		switch key.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			keys = append(keys, key)
		}
	}
	return keys, nil
}
