package wazotest

// Replaced tokens. wazo-auth does not invalidate a token when the same
// refresh token issues a newer one (each token is its own session, alive
// until it expires or is revoked), but a client that refreshed has no
// reason to present the older token again. The server counts the
// presentations that happen anyway.

// maxReplaced bounds the set of replaced tokens the server remembers (the
// oldest half is forgotten beyond it).
const maxReplaced = 1 << 16

// ReplacedPresentations returns how many times a token was presented
// (X-Auth-Token on an API endpoint, or in the path of the validation and
// scope-check endpoints) after a refresh with the refresh token it came
// from had issued a newer one. The refresh token of wazo-auth is shared by
// every login of one user and client_id, so measure this with one login
// per user.
func (s *Server) ReplacedPresentations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replacedSeen
}

// markReplacedLocked records the live tokens that came from refresh as
// replaced (a refresh with it is issuing a newer one). s.mu must be held.
func (s *Server) markReplacedLocked(refresh string) {
	if s.replaced == nil {
		s.replaced = map[string]int{}
	}
	for tok, at := range s.access {
		if at.origin == refresh {
			s.replacedSeq++
			s.replaced[tok] = s.replacedSeq
		}
	}
	if len(s.replaced) > maxReplaced {
		cut := s.replacedSeq - maxReplaced/2
		for tok, seq := range s.replaced {
			if seq <= cut {
				delete(s.replaced, tok)
			}
		}
	}
}

// noteReplacedLocked counts a presentation of tok (lower case) when it
// has been replaced. s.mu must be held.
func (s *Server) noteReplacedLocked(tok string) {
	if _, ok := s.replaced[tok]; ok {
		s.replacedSeen++
	}
}
