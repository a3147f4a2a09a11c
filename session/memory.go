package session

import (
	"sync"
	"time"
)

// memStore is the default store: scs's memstore semantics (Find, Commit,
// Delete, All; expired entries are not found and are swept every minute),
// with a sweeper that Close stops without a data race.
type memStore struct {
	mu    sync.RWMutex
	items map[string]memItem
	stop  chan struct{}
	done  chan struct{}
}

type memItem struct {
	b   []byte
	exp int64
}

func newMemStore(sweep time.Duration) *memStore {
	s := &memStore{items: map[string]memItem{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(sweep)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				now := time.Now().UnixNano()
				s.mu.Lock()
				for k, it := range s.items {
					if now >= it.exp {
						delete(s.items, k)
					}
				}
				s.mu.Unlock()
			}
		}
	}()
	return s
}

func (s *memStore) Find(token string) ([]byte, bool, error) {
	s.mu.RLock()
	it, ok := s.items[token]
	s.mu.RUnlock()
	if !ok || time.Now().UnixNano() >= it.exp {
		return nil, false, nil
	}
	return it.b, true, nil
}

func (s *memStore) Commit(token string, b []byte, expiry time.Time) error {
	s.mu.Lock()
	s.items[token] = memItem{b: b, exp: expiry.UnixNano()}
	s.mu.Unlock()
	return nil
}

func (s *memStore) Delete(token string) error {
	s.mu.Lock()
	delete(s.items, token)
	s.mu.Unlock()
	return nil
}

func (s *memStore) All() (map[string][]byte, error) {
	now := time.Now().UnixNano()
	out := map[string][]byte{}
	s.mu.RLock()
	for k, it := range s.items {
		if now < it.exp {
			out[k] = it.b
		}
	}
	s.mu.RUnlock()
	return out, nil
}

// close stops the sweeper and waits for it.
func (s *memStore) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}
