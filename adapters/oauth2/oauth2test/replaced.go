package oauth2test

// Replaced access tokens: a refresh supersedes the access tokens issued
// before it in the same grant. Whatever the configuration does with them
// (RevokeAccessOnRefresh deletes them, as Whisk does; by default they stay
// valid until they expire, as RFC 6749 allows), a careful client stops
// presenting them once it has the new one. The server counts the
// presentations that happen anyway.

// maxReplaced bounds the set of replaced access tokens the server
// remembers (the oldest half is forgotten beyond it).
const maxReplaced = 1 << 16

// ReplacedPresentations returns how many times an access token was
// presented (to the userinfo endpoint or any API handler that checks
// callers with BearerToken or LookupAccessToken) after a refresh of its
// grant had issued a newer one. A client that refreshes once per expiry
// and uses the new token at once keeps it at zero.
func (s *Server) ReplacedPresentations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replacedSeen
}

// markReplacedLocked records the access tokens of family as replaced (a
// refresh of the family is issuing a newer one). s.mu must be held.
func (s *Server) markReplacedLocked(family string) {
	if s.replaced == nil {
		s.replaced = map[string]int{}
	}
	for tok, a := range s.access {
		if a.family == family {
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

// noteReplacedLocked counts a presentation of token when a refresh has
// replaced it. s.mu must be held.
func (s *Server) noteReplacedLocked(token string) {
	if _, ok := s.replaced[token]; ok {
		s.replacedSeen++
	}
}
