package session

// fifo is the eviction order of a bounded cache: its keys in the order
// they were added, the oldest making room for a new one once it holds its
// capacity.
type fifo[K comparable] struct {
	keys []K // len grows to cap; then keys[pos] is the oldest
	pos  int
}

func newFIFO[K comparable](size int) fifo[K] { return fifo[K]{keys: make([]K, 0, size)} }

// push adds k, a key not in the cache yet. When the fifo was full it
// returns the oldest key, which k replaces (evicted: drop it from the
// cache). A fifo of capacity 0 keeps nothing: kept is false and k is not
// to be cached.
func (f *fifo[K]) push(k K) (old K, evicted, kept bool) {
	switch {
	case cap(f.keys) == 0:
		return old, false, false
	case len(f.keys) < cap(f.keys):
		f.keys = append(f.keys, k)
		return old, false, true
	}
	old = f.keys[f.pos]
	f.keys[f.pos] = k
	f.pos = (f.pos + 1) % len(f.keys)
	return old, true, true
}
