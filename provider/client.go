package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defaults of Client.
const (
	DefaultTimeout = 10 * time.Second
	DefaultMaxBody = 1 << 20
	// DefaultIdleConnTimeout is how long NewHTTPClient's transport keeps
	// an idle keep-alive connection: shorter than the idle timeouts
	// common upstreams close connections at (Node.js and Apache 5 s,
	// uvicorn 5 s, nginx 75 s). A request sent on a connection the
	// server is closing at that moment fails after it was written, and
	// a refresh that may have reached the upstream is never sent again
	// (see Client.Do), so the client must drop idle connections first.
	DefaultIdleConnTimeout = 4 * time.Second
)

// Encoding is how a request body is encoded.
type Encoding int

const (
	// FormEncoding is application/x-www-form-urlencoded (RFC 6749's).
	FormEncoding Encoding = iota
	// JSONEncoding is application/json (start.gg, Wazo).
	JSONEncoding
)

// AuthStyle is where client credentials go on a token request.
type AuthStyle int

const (
	// AuthStyleBasic sends client_id and client_secret as HTTP Basic
	// (RFC 6749 §2.3.1, which every server must support). The default.
	AuthStyleBasic AuthStyle = iota
	// AuthStyleBody sends client_id and client_secret in the body.
	AuthStyleBody
)

// Request is one call to an upstream endpoint.
type Request struct {
	// Method defaults to POST when Params is non-nil, else GET.
	Method string
	URL    string
	// Params is the body: a JSON object, or form fields (values may be
	// string, []string, bool or any integer). Never put into the URL.
	Params   map[string]any
	Encoding Encoding
	// BasicUser and BasicPass, when BasicUser is non-empty, are sent as
	// HTTP Basic credentials (client credentials or, for password
	// providers, the user's).
	BasicUser, BasicPass string
	// Header holds extra request headers.
	Header http.Header
}

// Response is a bounded, fully-read upstream reply with a 2xx status.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// Received is the local time the reply arrived: expiry is computed
	// from it, not from the upstream's clock.
	Received time.Time
}

// ErrorDecoder turns a non-2xx reply into an *Error. It fills Code,
// Description, URI and Kind; Client fills the rest. A nil Kind is
// classified from the status (5xx and 429 transient, else rejected).
type ErrorDecoder func(status int, header http.Header, body []byte) *Error

// Client talks to upstream token and API endpoints with the limits every
// upstream call needs: a dedicated HTTP client with timeouts, no
// redirect following (a 3xx is an error), at most MaxBody bytes read, typed
// errors. The zero value is ready to use. A Client is safe for concurrent use.
type Client struct {
	// Provider and Op label errors. Optional.
	Provider string
	// HTTPClient is the transport. Optional; default: a client with dial,
	// TLS-handshake and response-header timeouts. Its redirect policy is
	// always overridden: redirects are never followed.
	HTTPClient *http.Client
	// Timeout bounds each call. Optional; default DefaultTimeout.
	Timeout time.Duration
	// MaxBody bounds each reply. Optional; default DefaultMaxBody (1 MiB).
	MaxBody int64
	// Envelope is an object key whose value holds the reply proper (Wazo's
	// "data"). Optional.
	Envelope string
	// DecodeError maps error replies. Optional; default DecodeOAuth2Error.
	DecodeError ErrorDecoder
	// Now is the clock. Optional; default time.Now.
	Now func() time.Time
}

var defaultHTTPClient = NewHTTPClient()

// NewHTTPClient returns an *http.Client for upstream calls: dial, TLS and
// response-header timeouts, TLS verification on, redirects not followed,
// and idle keep-alive connections closed after DefaultIdleConnTimeout.
// An application that passes its own client to an adapter should also
// close idle connections before the upstream does.
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 5 * time.Second
	t.ResponseHeaderTimeout = DefaultTimeout
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = DefaultIdleConnTimeout
	return &http.Client{Transport: t, Timeout: DefaultTimeout + 5*time.Second, CheckRedirect: noRedirect}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func (c *Client) httpClient() *http.Client {
	hc := c.HTTPClient
	if hc == nil {
		return defaultHTTPClient
	}
	cp := *hc
	cp.CheckRedirect = noRedirect
	return &cp
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) maxBody() int64 {
	if c.MaxBody > 0 {
		return c.MaxBody
	}
	return DefaultMaxBody
}

// Do sends req and returns the reply when its status is 2xx. Every failure
// is an *Error: transport failures and timeouts are ErrUnavailable, 3xx and
// oversized replies ErrBadResponse, other statuses whatever DecodeError
// says. op labels the error ("exchange", "refresh", ...).
//
// A POST (a code exchange or a refresh) is never sent twice once it may
// have reached the upstream: a rotated refresh token presented again
// trips reuse detection and revokes the grant (RFC 9700 §4.14.2). Do
// itself never retries, and it drops Idempotency-Key and
// X-Idempotency-Key from non-idempotent requests, since they make
// net/http resend a request that was written. net/http does resend a
// request on a fresh connection when the reused one failed before any
// byte of the request was written (the body is rewound through GetBody),
// which is safe.
func (c *Client) Do(ctx context.Context, op string, req Request) (*Response, error) {
	fail := func(kind, cause error, status int) *Error {
		return &Error{Provider: c.Provider, Op: op, StatusCode: status, Kind: kind, Err: cause}
	}
	body, ctype, err := encodeBody(req)
	if err != nil {
		return nil, fail(ErrRejected, err, 0)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
		if req.Params != nil {
			method = http.MethodPost
		}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rdr io.Reader
	if body != nil {
		rdr = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, req.URL, rdr)
	if err != nil {
		return nil, fail(ErrRejected, errors.New("bad request URL"), 0)
	}
	for k, vs := range req.Header {
		hreq.Header[k] = append([]string(nil), vs...)
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
	default:
		// net/http treats a request carrying either as idempotent and
		// resends it after a failure even when it was written.
		hreq.Header.Del("Idempotency-Key")
		hreq.Header.Del("X-Idempotency-Key")
	}
	if ctype != "" {
		hreq.Header.Set("Content-Type", ctype)
	}
	if hreq.Header.Get("Accept") == "" {
		hreq.Header.Set("Accept", "application/json")
	}
	if req.BasicUser != "" {
		hreq.SetBasicAuth(req.BasicUser, req.BasicPass)
	}
	resp, err := c.httpClient().Do(hreq)
	if err != nil {
		return nil, fail(ErrUnavailable, transportError(err), 0)
	}
	defer resp.Body.Close()
	limit := c.maxBody()
	if resp.ContentLength > limit { // announced too large: do not read it at all
		return nil, fail(ErrBadResponse, fmt.Errorf("reply larger than %d bytes", limit), resp.StatusCode)
	}
	data, err := readLimited(resp.Body, resp.ContentLength, limit)
	if err != nil {
		return nil, fail(ErrUnavailable, transportError(err), resp.StatusCode)
	}
	if int64(len(data)) > limit {
		return nil, fail(ErrBadResponse, fmt.Errorf("reply larger than %d bytes", limit), resp.StatusCode)
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: data, Received: c.now()}, nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, fail(ErrBadResponse, errors.New("unexpected redirect"), resp.StatusCode)
	}
	dec := c.DecodeError
	if dec == nil {
		dec = DecodeOAuth2Error
	}
	e := dec(resp.StatusCode, resp.Header, data)
	if e == nil {
		e = &Error{}
	}
	e.Provider, e.Op, e.StatusCode = c.Provider, op, resp.StatusCode
	if len(data) > MaxErrorBody {
		data = data[:MaxErrorBody]
	}
	e.Body = append([]byte(nil), data...)
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
	if e.Kind == nil {
		e.Kind = KindForStatus(resp.StatusCode)
	}
	return nil, e
}

// readLimited reads at most limit+1 bytes of r. A known length (at most
// limit) sizes the buffer once; otherwise it grows as io.ReadAll does.
func readLimited(r io.Reader, length, limit int64) ([]byte, error) {
	if length < 0 {
		return io.ReadAll(io.LimitReader(r, limit+1))
	}
	buf := bytes.NewBuffer(make([]byte, 0, length+1))
	_, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	return buf.Bytes(), err
}

// KindForStatus is the default classification of an error status: 5xx,
// 408 and 429 are transient, 401 on a resource call is ErrUnauthorized's
// business (decided by the caller), everything else is ErrRejected.
func KindForStatus(status int) error {
	if status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout {
		return ErrUnavailable
	}
	return ErrRejected
}

// transportError strips the URL from a *url.Error: URLs are configuration,
// but keeping errors short and free of query strings is cheap insurance.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("%s: timeout: %w", ue.Op, ue.Err)
		}
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// maxRetryAfter caps Retry-After (seconds) so a hostile value cannot
// overflow a time.Duration.
const maxRetryAfter = 7 * 24 * 3600

func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(min(s, maxRetryAfter)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter*time.Second)
	}
	return 0
}

func encodeBody(req Request) ([]byte, string, error) {
	if req.Params == nil {
		return nil, "", nil
	}
	if req.Encoding == JSONEncoding {
		b, err := json.Marshal(req.Params)
		return b, "application/json", err
	}
	form := url.Values{}
	keys := make([]string, 0, len(req.Params))
	for k := range req.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := req.Params[k].(type) {
		case string:
			form.Set(k, v)
		case []string:
			form[k] = append([]string(nil), v...)
		case bool:
			form.Set(k, strconv.FormatBool(v))
		case int:
			form.Set(k, strconv.Itoa(v))
		case int64:
			form.Set(k, strconv.FormatInt(v, 10))
		default:
			return nil, "", fmt.Errorf("form field %q: unsupported type %T", k, v)
		}
	}
	return []byte(form.Encode()), "application/x-www-form-urlencoded", nil
}

// DecodeOAuth2Error reads an RFC 6749 §5.2 error reply (JSON, or form
// encoded as some servers do). invalid_grant maps to ErrInvalidGrant;
// everything else is classified by status.
func DecodeOAuth2Error(status int, header http.Header, body []byte) *Error {
	var e Error
	var obj struct {
		Error       any    `json:"error"`
		Description string `json:"error_description"`
		URI         string `json:"error_uri"`
	}
	if json.Unmarshal(body, &obj) == nil {
		if s, ok := obj.Error.(string); ok {
			e.Code = s
		}
		e.Description, e.URI = obj.Description, obj.URI
	} else if vals, err := url.ParseQuery(string(body)); err == nil && vals.Get("error") != "" {
		e.Code, e.Description, e.URI = vals.Get("error"), vals.Get("error_description"), vals.Get("error_uri")
	}
	if e.Code == "invalid_grant" {
		e.Kind = ErrInvalidGrant
	}
	return &e
}

// ParseOptions tunes ParseToken.
type ParseOptions struct {
	// Envelope unwraps {"<Envelope>": {...}} first.
	Envelope string
	// TokenTypes are the accepted token_type values, compared ignoring
	// case. Default: "Bearer". A missing token_type is refused.
	TokenTypes []string
	// MaxExpiresIn clamps expires_in. Default: math.MaxInt32 seconds.
	MaxExpiresIn time.Duration
}

// ParseToken validates and converts a token endpoint's 2xx reply (RFC 6749
// §5.1) received at received. The body may be JSON or form encoded
// (contentType decides; JSON is tried when it is absent). It checks that
// access_token is a non-empty string, token_type is accepted, expires_in
// (number or numeric string) is positive (clamped when huge), and reads
// scope as a JSON array or a space- or comma-separated string. Unknown
// fields are ignored. Failures match ErrBadResponse.
func ParseToken(body []byte, contentType string, received time.Time, opt ParseOptions) (*Token, error) {
	obj, err := decodeObject(body, contentType, opt.Envelope)
	if err != nil {
		return nil, badResponse(err)
	}
	access, ok := stringField(obj, "access_token")
	if !ok || access == "" {
		return nil, badResponse(errors.New("no access_token"))
	}
	if !headerSafe(access) {
		// It goes into an Authorization header: refuse what would break
		// or inject into it.
		return nil, badResponse(errors.New("access_token holds whitespace or control characters"))
	}
	ttype, _ := stringField(obj, "token_type")
	types := opt.TokenTypes
	if len(types) == 0 {
		types = []string{"Bearer"}
	}
	accepted := false
	for _, t := range types {
		if strings.EqualFold(t, ttype) {
			accepted, ttype = true, t
			break
		}
	}
	if !accepted {
		return nil, badResponse(fmt.Errorf("token_type %q not accepted", sanitizeCode(ttype)))
	}
	tok := &Token{AccessToken: access, TokenType: ttype}
	if rt, present := obj["refresh_token"]; present && rt != nil {
		s, ok := rt.(string)
		if !ok {
			return nil, badResponse(errors.New("refresh_token is not a string"))
		}
		tok.RefreshToken = s
	}
	if raw, present := obj["expires_in"]; present && raw != nil {
		secs, err := ExpiresIn(raw)
		if err != nil {
			return nil, badResponse(err)
		}
		max := opt.MaxExpiresIn
		if max <= 0 {
			max = math.MaxInt32 * time.Second
		}
		d := max // also keeps the float conversion below in range
		if secs < max.Seconds() {
			d = time.Duration(secs * float64(time.Second))
		}
		tok.Expiry = received.Add(d)
	}
	if raw, present := obj["scope"]; present && raw != nil {
		scopes, err := ScopeList(raw)
		if err != nil {
			return nil, badResponse(err)
		}
		tok.Scopes = scopes
	}
	return tok, nil
}

func badResponse(err error) *Error { return &Error{Kind: ErrBadResponse, Err: err} }

// headerSafe reports whether s has no whitespace, control or non-ASCII
// bytes, so it can follow "Bearer " in a header.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// DecodeJSONObject decodes body as one JSON object, unwrapping envelope
// when non-empty. Numbers decode as json.Number.
func DecodeJSONObject(body []byte, envelope string) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errors.New("malformed JSON")
	}
	if dec.More() {
		return nil, errors.New("trailing data after JSON")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("reply is not a JSON object")
	}
	if envelope != "" {
		inner, ok := obj[envelope].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("reply has no %q object", envelope)
		}
		obj = inner
	}
	return obj, nil
}

func decodeObject(body []byte, contentType, envelope string) (map[string]any, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" || mt == "text/plain" {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errors.New("malformed form reply")
		}
		obj := make(map[string]any, len(vals))
		for k := range vals {
			obj[k] = vals.Get(k)
		}
		return obj, nil
	}
	return DecodeJSONObject(body, envelope)
}

func stringField(obj map[string]any, k string) (string, bool) {
	s, ok := obj[k].(string)
	return s, ok
}

// ExpiresIn reads an expires_in value: a JSON number or a numeric string.
// It must be positive.
func ExpiresIn(v any) (float64, error) {
	var f float64
	var err error
	switch x := v.(type) {
	case json.Number:
		f, err = x.Float64()
	case float64:
		f = x
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(x), 64)
	default:
		err = errors.New("wrong type")
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("expires_in is not a number")
	}
	if f <= 0 {
		return 0, errors.New("expires_in is not positive")
	}
	return f, nil
}

// ScopeList reads a scope value: a JSON array of strings, or one string of
// scopes separated by spaces and/or commas.
func ScopeList(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return SplitScopes(x), nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, errors.New("scope array holds a non-string")
			}
			out = append(out, SplitScopes(s)...)
		}
		return out, nil
	}
	return nil, errors.New("scope is neither a string nor an array")
}

// SplitScopes splits on spaces and commas and drops empty entries.
func SplitScopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' })
}
