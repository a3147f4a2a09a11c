package session

import (
	"hash/maphash"
	"sync"
	"time"
)

// Identical commits are written once.
//
// When many requests of one session wait for one refresh, each takes up
// the refreshed token set in its own copy of the session, so that the rest
// of the request (CurrentLogin, Client) sees it; each copy is then changed
// the same way, from the same loaded bytes to the same new bytes. The
// first such commit writes; the others find in recentCommits that this
// process has already made exactly that change to that key, with an
// expiry still fresh enough, and write nothing (no Set-Cookie either): one
// store write per refresh instead of one per waiting request.
//
// Skipping is sound because a skipped request loaded the very version the
// writer loaded: the same bytes including the idle stamp, which every
// write through LoadAndSave sets to its own time to the nanosecond, so
// equal bytes mean the same write, not equal contents written again later
// (a value set, removed on another instance, set again). So it read the
// session before the first identical write and can be ordered before it,
// after which its own write would change nothing. A request that loaded
// anything else (a later version, another instance's write) does not
// match and writes as usual, and so does every request on a session
// whose stamp does not name one write (none, or capped at the session's
// absolute deadline in its last IdleTimeout).

// recentCommits remembers, per store key, the last session change this
// process wrote through LoadAndSave's idle store.
type recentCommits struct {
	seed maphash.Seed
	mu   sync.Mutex
	m    map[string]recentCommit
}

// recentCommit is one written change: hashes of the version the writer
// had loaded (all its bytes) and of the contents it wrote (without the
// idle stamp), with their lengths, and the expiry it wrote.
type recentCommit struct {
	from, to sessionSum
	expiry   time.Time
}

type sessionSum struct {
	h uint64
	n int
}

// maxRecentCommits bounds the table (entries are small: a key and 40 bytes).
const maxRecentCommits = 4096

func newRecentCommits() *recentCommits {
	return &recentCommits{seed: maphash.MakeSeed(), m: map[string]recentCommit{}}
}

// version hashes an encoded session as stored, idle stamp included.
func (r *recentCommits) version(b []byte) sessionSum {
	return sessionSum{h: maphash.Bytes(r.seed, b), n: len(b)}
}

// sum hashes an encoded session without its 8-byte idle stamp at off.
func (r *recentCommits) sum(b []byte, off int) sessionSum {
	var h maphash.Hash
	h.SetSeed(r.seed)
	_, _ = h.Write(b[:off])
	_, _ = h.Write(b[off+8:])
	return sessionSum{h: h.Sum64(), n: len(b)}
}

// claim reports whether this process has written (or is writing) the
// change c.from→c.to to key with an expiry for which fresh returns true;
// when it has not, c is recorded as being written, and reports false: the
// caller writes it, and forgets key if the write fails. Claiming before
// writing makes requests that commit at the same moment skip too, not
// only those that commit after the write returned.
func (r *recentCommits) claim(key string, c recentCommit, now time.Time, fresh func(expiry time.Time) bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.m[key]; ok && old.from == c.from && old.to == c.to && fresh(old.expiry) {
		return true
	}
	if _, ok := r.m[key]; !ok && len(r.m) >= maxRecentCommits {
		for k, v := range r.m {
			if !v.expiry.After(now) {
				delete(r.m, k)
			}
		}
		for k := range r.m {
			if len(r.m) < maxRecentCommits {
				break
			}
			delete(r.m, k)
		}
	}
	r.m[key] = c
	return false
}

func (r *recentCommits) forget(key string) {
	r.mu.Lock()
	delete(r.m, key)
	r.mu.Unlock()
}
