package oauth2test

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// Failure is a fault to inject into an endpoint with Server.Fail. The
// effects combine in this order: Delay, then Hang, then the first of
// Redirect, OAuthError, Malformed, Oversized, Status that is set. A Failure
// with only Delay set delays the request and then handles it normally.
type Failure struct {
	// Times is how many requests the failure hits. Default (0): one.
	// Negative: every request until ClearFailures.
	Times int
	// Delay waits this long (real time) before answering. The wait ends
	// early when the client gives up or the server closes.
	Delay time.Duration
	// Hang never answers: the handler blocks until the client gives up
	// or the server closes, then drops the connection.
	Hang bool
	// Redirect answers with a redirect to this URL, status Status (default
	// 307 Temporary Redirect).
	Redirect string
	// OAuthError answers with this RFC 6749 error code, rendered by
	// Config.RenderError with status Status (default 400; 401 for
	// invalid_client). At the authorize endpoint it is sent back to the
	// redirect URI as error= (for example "access_denied").
	OAuthError string
	// Malformed answers 200 with a body that is not valid JSON.
	Malformed bool
	// Oversized answers 200 with a JSON-looking body of this many bytes.
	Oversized int64
	// Status answers with this status and Body (default body for 5xx:
	// {"error":"server_error"}).
	Status int
	// Body is the raw body for Status.
	Body string
	// Header is added to the reply (for example Retry-After).
	Header http.Header
	// Notify, when non-nil, receives a value each time the failure hits
	// a request, before any delay or hang (the send does not block when
	// nobody is receiving and the channel is full). Tests use it to know a
	// request is in flight without sleeping.
	Notify chan<- struct{}
}

// Fail queues f for endpoint ep: the next f.Times requests to ep fail as f
// says. Failures queued for the same endpoint apply one after the other. A
// failure for EndpointToken hits any token-path request (refreshes too);
// one for EndpointRefresh hits refresh grants only.
func (s *Server) Fail(ep Endpoint, f Failure) {
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.failures[ep] = append(s.failures[ep], &f)
	s.mu.Unlock()
}

// ClearFailures drops every queued failure.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	s.failures = map[Endpoint][]*Failure{}
	s.mu.Unlock()
}

// takeFailure pops the next failure for ep, or returns nil.
func (s *Server) takeFailure(ep Endpoint) *Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.failures[ep]
	if len(q) == 0 {
		return nil
	}
	f := *q[0]
	if q[0].Times > 0 {
		q[0].Times--
		if q[0].Times == 0 {
			s.failures[ep] = q[1:]
		}
	}
	return &f
}

// injectFailure applies a queued failure for ep and reports whether the
// request has been answered.
func (s *Server) injectFailure(w http.ResponseWriter, r *http.Request, ep Endpoint) bool {
	f := s.takeFailure(ep)
	if f == nil {
		return false
	}
	return s.apply(w, r, f, nil)
}

// apply carries out f. oauthErr, when non-nil, answers OAuthError itself
// (the authorize endpoint redirects it).
func (s *Server) apply(w http.ResponseWriter, r *http.Request, f *Failure, oauthErr func(code string)) bool {
	if f.Notify != nil {
		select {
		case f.Notify <- struct{}{}:
		default:
		}
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			panic(http.ErrAbortHandler)
		case <-s.done:
			t.Stop()
			panic(http.ErrAbortHandler)
		}
	}
	if f.Hang {
		// Consume the body so the server notices when the client leaves.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, s.cfg.MaxBody))
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		// Drop the connection without an answer, as a dead upstream would.
		panic(http.ErrAbortHandler)
	}
	for k, vs := range f.Header {
		w.Header()[k] = append([]string(nil), vs...)
	}
	switch {
	case f.Redirect != "":
		st := f.Status
		if st == 0 {
			st = http.StatusTemporaryRedirect
		}
		http.Redirect(w, r, f.Redirect, st)
	case f.OAuthError != "":
		if oauthErr != nil {
			oauthErr(f.OAuthError)
			return true
		}
		e := &Error{Status: f.Status, Code: f.OAuthError, Description: "injected failure"}
		s.renderError(w, r, e)
	case f.Malformed:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"access_token": "x", "token_type": `)
	case f.Oversized > 0:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		writeOversized(w, f.Oversized)
	case f.Status != 0:
		body := f.Body
		if body == "" && f.Status >= 500 {
			body = `{"error":"server_error"}`
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, body)
	default:
		return false // only a delay: go on normally
	}
	return true
}

// writeOversized writes n bytes of a JSON object that never ends, in
// chunks, stopping early when the client hangs up.
func writeOversized(w io.Writer, n int64) {
	const head = `{"access_token":"`
	chunk := strings.Repeat("A", 32<<10)
	if n < int64(len(head)) {
		_, _ = io.WriteString(w, head[:n])
		return
	}
	if _, err := io.WriteString(w, head); err != nil {
		return
	}
	n -= int64(len(head))
	for n > 0 {
		c := chunk
		if int64(len(c)) > n {
			c = c[:n]
		}
		if _, err := io.WriteString(w, c); err != nil {
			return
		}
		n -= int64(len(c))
	}
}

// Named faults for FailNext. The values equal provider/providertest's
// Failure values, so a conformance harness passes them straight through:
//
//	Fail: func(f providertest.Failure) { srv.FailNext(oauth2test.EndpointToken, string(f)) }
const (
	// FaultUnavailable answers 503 with Retry-After: 1.
	FaultUnavailable = "unavailable"
	// FaultTimeout hangs until the client gives up.
	FaultTimeout = "timeout"
	// FaultMalformed answers 200 with broken JSON.
	FaultMalformed = "malformed"
	// FaultOversized answers 200 with DefaultMaxBody+1 bytes.
	FaultOversized = "oversized"
)

// FailNext makes the next request to ep fail with the named fault (one of
// the Fault constants). It panics on an unknown name, a programming error
// in the test.
func (s *Server) FailNext(ep Endpoint, fault string) {
	var f Failure
	switch fault {
	case FaultUnavailable:
		f = Failure{Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"1"}}}
	case FaultTimeout:
		f = Failure{Hang: true}
	case FaultMalformed:
		f = Failure{Malformed: true}
	case FaultOversized:
		f = Failure{Oversized: DefaultMaxBody + 1}
	default:
		panic("oauth2test: unknown fault " + fault)
	}
	s.Fail(ep, f)
}
