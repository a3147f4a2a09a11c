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
// process is making (or has made) exactly that change to that key, with an
// expiry still fresh enough, wait until that write has returned and, when
// it succeeded, write nothing (no Set-Cookie either): one store write per
// refresh instead of one per waiting request. Waiting keeps each request's
// promise that its session is stored when its response goes out; should
// the first write fail, each of the others writes itself.
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
// process wrote (or is writing) through LoadAndSave's idle store.
type recentCommits struct {
	seed  maphash.Seed
	mu    sync.Mutex
	m     map[string]*recentCommit
	order fifo[string] // the keys, oldest evicted first
}

// recentCommit is one change written to a key: hashes of the version the
// writer had loaded (all its bytes) and of the contents it wrote (without
// the idle stamp), with their lengths, the expiry it wrote, and the
// outcome of the write once it returned.
type recentCommit struct {
	from, to sessionSum
	expiry   time.Time
	done     chan struct{} // closed when the write returned
	err      error         // the write's error; set before done is closed
}

type sessionSum struct {
	h uint64
	n int
}

// maxRecentCommits bounds the table (an entry is a key and about 100
// bytes). An entry only helps within the idle step of its write (at most a
// minute), so the oldest is the one to let go.
const maxRecentCommits = 4096

func newRecentCommits() *recentCommits {
	return &recentCommits{seed: maphash.MakeSeed(), m: map[string]*recentCommit{}, order: newFIFO[string](maxRecentCommits)}
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

// claim looks for the change from→to of key among the changes this
// process has written or is writing, with an expiry for which fresh
// returns true. Found, it returns that change and false: the caller waits
// for its done and skips its own write if that one succeeded. Otherwise
// it records a new change and returns it and true: the caller writes it
// and reports the outcome with finish.
func (r *recentCommits) claim(key string, from, to sessionSum, expiry time.Time, fresh func(expiry time.Time) bool) (*recentCommit, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.m[key]; old != nil && old.from == from && old.to == to && fresh(old.expiry) {
		return old, false
	}
	if _, ok := r.m[key]; !ok {
		// A key forgotten meanwhile leaves a slot that evicts nothing.
		if oldest, evicted, _ := r.order.push(key); evicted {
			delete(r.m, oldest)
		}
	}
	c := &recentCommit{from: from, to: to, expiry: expiry, done: make(chan struct{})}
	r.m[key] = c
	return c, true
}

// finish reports the outcome of a claimed write; a failed one is
// forgotten.
func (r *recentCommits) finish(key string, c *recentCommit, err error) {
	c.err = err
	close(c.done)
	if err != nil {
		r.mu.Lock()
		if r.m[key] == c {
			delete(r.m, key)
		}
		r.mu.Unlock()
	}
}

// forget drops key's entry.
func (r *recentCommits) forget(key string) {
	r.mu.Lock()
	delete(r.m, key)
	r.mu.Unlock()
}
