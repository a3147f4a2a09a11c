// Package telemetry is Gatehouse's OpenTelemetry instrumentation: the spans
// and metrics of login starts, callbacks, password logins, logouts, token
// refreshes, upstream code exchanges and revocations, and of the rate
// limiters and refresh circuit breakers. It uses the OpenTelemetry API only;
// the application supplies the providers (or installs global ones). Without
// an SDK every call is a no-op that allocates nothing beyond the API's own
// non-recording span.
//
// What is recorded is fixed and low-cardinality: the operation, the
// provider's configured name, an outcome ("ok" or a stable error code) and a
// limiter or breaker state. Never a token, code, state, verifier, password,
// session or login id, subject, username or email, and never an error's
// text (upstream texts may echo what they were sent).
package telemetry

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-auth/gatehouse/provider"
)

// ScopeName is the instrumentation scope of every tracer and meter.
const ScopeName = "github.com/gatehouse-auth/gatehouse"

// Attribute keys. Error codes use the semantic-convention key error.type.
const (
	KeyProvider     = attribute.Key("gatehouse.provider")
	KeyOutcome      = attribute.Key("gatehouse.outcome")
	KeyLimiter      = attribute.Key("gatehouse.limiter")
	KeyBreakerState = attribute.Key("gatehouse.breaker.state")
	KeyAttempts     = attribute.Key("gatehouse.revoke.attempts")
	KeyErrorType    = attribute.Key("error.type")
)

// Metric names (OpenTelemetry names; a Prometheus exporter turns
// gatehouse.logins into gatehouse_logins_total and gatehouse.refresh.duration
// into gatehouse_refresh_duration_seconds).
const (
	MetricLogins            = "gatehouse.logins"
	MetricRefreshes         = "gatehouse.refreshes"
	MetricRefreshDuration   = "gatehouse.refresh.duration"
	MetricFailures          = "gatehouse.failures"
	MetricLimiterRejections = "gatehouse.limiter.rejections"
	MetricBreakerState      = "gatehouse.breaker.state"
)

// OutcomeOK is the outcome of an operation that succeeded.
const OutcomeOK = "ok"

// otherError is error.type for an error no code describes (the semantic
// conventions' fallback value).
const otherError = "_OTHER"

// Kind is the operation a span measures.
type Kind uint8

// Operations. LoginStart, Callback, PasswordLogin and Logout are requests
// to the auth handlers; their outcome is set by [Telemetry.Failure] and
// [Succeeded]. Exchange, Refresh and Revoke are upstream calls; their outcome
// is the error they end with ([Op.EndErr]).
const (
	LoginStart Kind = iota + 1
	Callback
	PasswordLogin
	Logout
	Exchange
	Refresh
	Revoke
)

var spanNames = [...]string{
	LoginStart:    "gatehouse.login_start",
	Callback:      "gatehouse.callback",
	PasswordLogin: "gatehouse.password_login",
	Logout:        "gatehouse.logout",
	Exchange:      "gatehouse.exchange",
	Refresh:       "gatehouse.refresh",
	Revoke:        "gatehouse.revoke",
}

// limiters names the limiter that guards each request kind.
var limiters = [...]string{
	LoginStart:    "login_start",
	Callback:      "callback",
	PasswordLogin: "password",
}

func (k Kind) request() bool { return k >= LoginStart && k <= Logout }

// Telemetry holds one tracer and the instruments. It is safe for concurrent
// use; a nil *Telemetry records nothing.
type Telemetry struct {
	tracer      trace.Tracer
	meter       metric.Meter
	logins      metric.Int64Counter
	refreshes   metric.Int64Counter
	refreshTime metric.Float64Histogram
	failures    metric.Int64Counter
	rejections  metric.Int64Counter
}

// refreshBuckets are the histogram's boundaries in seconds (those the
// semantic conventions advise for HTTP client durations).
var refreshBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// New returns the instrumentation over tp and mp; nil means the global
// provider (otel.GetTracerProvider, otel.GetMeterProvider), a no-op until
// the application installs an SDK.
func New(tp trace.TracerProvider, mp metric.MeterProvider) *Telemetry {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopeName)
	t := &Telemetry{tracer: tp.Tracer(ScopeName), meter: m}
	// The API returns a usable instrument along with any error (a
	// duplicate registration with another description, say): an error is
	// handed to the global error handler and recording goes on.
	var err error
	t.logins, err = m.Int64Counter(MetricLogins, metric.WithUnit("{login}"),
		metric.WithDescription("Completed logins (callbacks, implicit-grant posts and password logins) by provider and outcome."))
	handle(err)
	t.refreshes, err = m.Int64Counter(MetricRefreshes, metric.WithUnit("{refresh}"),
		metric.WithDescription("Token refreshes sent to the upstream (one per real refresh, however many requests waited for it) by provider and outcome."))
	handle(err)
	t.refreshTime, err = m.Float64Histogram(MetricRefreshDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of the upstream token refreshes by provider and outcome."),
		metric.WithExplicitBucketBoundaries(refreshBuckets...))
	handle(err)
	t.failures, err = m.Int64Counter(MetricFailures, metric.WithUnit("{failure}"),
		metric.WithDescription("Failures answered by the auth handlers and middleware (what the OnError hook sees) by provider and error code."))
	handle(err)
	t.rejections, err = m.Int64Counter(MetricLimiterRejections, metric.WithUnit("{rejection}"),
		metric.WithDescription("Requests refused by a rate limiter (login_start, callback, password)."))
	handle(err)
	return t
}

func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}

// Op is one operation in progress. Its methods are safe on a nil *Op (the
// no-op case: no span records and no metric is enabled) and for concurrent
// use; after End, Failure and Succeeded leave it alone.
type Op struct {
	t     *Telemetry
	ctx   context.Context // the span's (metrics recorded at End link to it as exemplars)
	kind  Kind
	span  trace.Span
	start time.Time

	mu       sync.Mutex
	provider string
	outcome  string
	attempts int
	ended    bool
}

type opKey struct{}

// Start begins an operation of kind k for provider (a configured provider's
// name, or "") and returns the context carrying its span (and the Op, for
// [Telemetry.Failure] and [Succeeded]). When nothing would be recorded it
// returns ctx itself and a nil Op.
func (t *Telemetry) Start(ctx context.Context, k Kind, providerName string) (context.Context, *Op) {
	if t == nil {
		return ctx, nil
	}
	sctx, span := t.tracer.Start(ctx, spanNames[k]) // SpanKindInternal
	recording := span.IsRecording()
	if !recording && !t.metricsFor(ctx, k) {
		return ctx, nil
	}
	o := &Op{t: t, kind: k, span: span, provider: providerName}
	o.ctx = context.WithValue(sctx, opKey{}, o)
	if k == Refresh {
		o.start = time.Now()
	}
	if recording && providerName != "" {
		span.SetAttributes(KeyProvider.String(providerName))
	}
	return o.ctx, o
}

// SetProvider names the provider once the operation learns it (a logout
// finds it in the session).
func (o *Op) SetProvider(name string) {
	if o == nil || name == "" {
		return
	}
	o.mu.Lock()
	o.provider = name
	o.mu.Unlock()
	if o.span.IsRecording() {
		o.span.SetAttributes(KeyProvider.String(name))
	}
}

// metricsFor reports whether an Op of kind k would record a metric.
func (t *Telemetry) metricsFor(ctx context.Context, k Kind) bool {
	switch k {
	case Callback, PasswordLogin:
		return t.logins.Enabled(ctx) || t.rejections.Enabled(ctx)
	case LoginStart:
		return t.rejections.Enabled(ctx)
	case Refresh:
		return t.refreshes.Enabled(ctx) || t.refreshTime.Enabled(ctx)
	}
	return false
}

func opFrom(ctx context.Context) *Op {
	o, _ := ctx.Value(opKey{}).(*Op)
	return o
}

// Detach returns ctx without its request operation, for background work a
// request starts (a revocation after logout): its failures are not the
// request's.
func Detach(ctx context.Context) context.Context {
	if opFrom(ctx) == nil {
		return ctx
	}
	return context.WithValue(ctx, opKey{}, (*Op)(nil))
}

// setOutcome records code as o's outcome unless one is set or o ended.
func (o *Op) setOutcome(code string) {
	o.mu.Lock()
	if !o.ended && o.outcome == "" {
		o.outcome = code
	}
	o.mu.Unlock()
}

// Failure records a failure answered to a request: the failures counter
// (by provider and code), the outcome of the request operation in ctx (the
// first failure wins) and, for code "rate_limited", a rejection by that
// operation's limiter. providerName must be a configured provider's name or
// "" (it becomes a metric label).
func (t *Telemetry) Failure(ctx context.Context, providerName, code string) {
	if t == nil {
		return
	}
	if t.failures.Enabled(ctx) {
		t.failures.Add(ctx, 1, metric.WithAttributes(KeyProvider.String(providerName), KeyErrorType.String(code)))
	}
	o := opFrom(ctx)
	if o == nil || !o.kind.request() {
		return
	}
	o.setOutcome(code)
	if code == "rate_limited" && limiters[o.kind] != "" && t.rejections.Enabled(ctx) {
		t.rejections.Add(ctx, 1, metric.WithAttributes(KeyLimiter.String(limiters[o.kind])))
	}
}

// Succeeded marks the request operation in ctx (a callback or password
// login) as a completed login, unless a failure was recorded first.
func Succeeded(ctx context.Context) {
	if o := opFrom(ctx); o != nil && o.kind.request() {
		o.setOutcome(OutcomeOK)
	}
}

// SetAttempts records how many upstream requests the operation made (a
// revocation's retries).
func (o *Op) SetAttempts(n int) {
	if o != nil {
		o.mu.Lock()
		o.attempts = n
		o.mu.Unlock()
	}
}

// EndErr ends an upstream operation with err's code as its outcome.
func (o *Op) EndErr(err error) {
	if o == nil {
		return
	}
	o.mu.Lock()
	o.outcome = Code(err)
	o.mu.Unlock()
	o.End()
}

// EndCode ends an operation with code as its outcome ("" or OutcomeOK: it
// succeeded).
func (o *Op) EndCode(code string) {
	if o == nil {
		return
	}
	o.mu.Lock()
	o.outcome = code
	o.mu.Unlock()
	o.End()
}

// End ends the operation: the span gets its provider, outcome and (on
// failure) error.type and an error status; a callback or password login
// that completed or failed counts in gatehouse.logins, a refresh in
// gatehouse.refreshes and gatehouse.refresh.duration. A request whose
// outcome is unset ended without a login or a failure (a login start that
// redirected, a page shown): it is "ok" and counts no login.
func (o *Op) End() {
	if o == nil {
		return
	}
	o.mu.Lock()
	if o.ended {
		o.mu.Unlock()
		return
	}
	o.ended = true
	set, providerName, attempts := o.outcome != "", o.provider, o.attempts
	outcome := o.outcome
	o.mu.Unlock()
	if outcome == "" {
		outcome = OutcomeOK
	}
	if o.span.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 3)
		attrs = append(attrs, KeyOutcome.String(outcome))
		if attempts > 0 {
			attrs = append(attrs, KeyAttempts.Int(attempts))
		}
		if outcome != OutcomeOK {
			attrs = append(attrs, KeyErrorType.String(outcome))
			o.span.SetStatus(codes.Error, outcome)
		}
		o.span.SetAttributes(attrs...)
	}
	o.span.End()
	ctx := o.ctx
	switch o.kind {
	case Callback, PasswordLogin:
		if set && o.t.logins.Enabled(ctx) {
			o.t.logins.Add(ctx, 1, metric.WithAttributes(KeyProvider.String(providerName), KeyOutcome.String(outcome)))
		}
	case Refresh:
		attrs := metric.WithAttributes(KeyProvider.String(providerName), KeyOutcome.String(outcome))
		if o.t.refreshes.Enabled(ctx) {
			o.t.refreshes.Add(ctx, 1, attrs)
		}
		if o.t.refreshTime.Enabled(ctx) {
			o.t.refreshTime.Record(ctx, time.Since(o.start).Seconds(), attrs)
		}
	}
}

// Code is the outcome of an upstream call that ended with err: "ok", or a
// stable code for the provider error kind ("invalid_grant",
// "invalid_credentials", "no_refresh_token", "unavailable", "rate_limited"
// for an upstream 429, "bad_response", "rejected", "unauthorized"),
// "timeout", "canceled", or "_OTHER".
func Code(err error) string {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, provider.ErrInvalidGrant):
		return "invalid_grant"
	case errors.Is(err, provider.ErrInvalidCredentials):
		return "invalid_credentials"
	case errors.Is(err, provider.ErrNoRefreshToken):
		return "no_refresh_token"
	case errors.Is(err, provider.ErrUnavailable):
		var pe *provider.Error
		if errors.As(err, &pe) && pe.StatusCode == http.StatusTooManyRequests {
			return "rate_limited"
		}
		return "unavailable"
	case errors.Is(err, provider.ErrBadResponse):
		return "bad_response"
	case errors.Is(err, provider.ErrRejected):
		return "rejected"
	case errors.Is(err, provider.ErrUnauthorized):
		return "unauthorized"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return otherError
}

// Breaker states, the values of gatehouse.breaker.state.
var breakerStates = []string{"closed", "open", "half_open"}

// ObserveBreakers registers the gatehouse.breaker.state gauge: for each of
// providers, 1 for its current state and 0 for the others ("closed",
// "open", "half_open"). states is called once per collection and returns
// the state of the providers whose breaker is not closed. The returned
// function unregisters the gauge.
func (t *Telemetry) ObserveBreakers(providers []string, states func() map[string]string) (unregister func()) {
	if t == nil || len(providers) == 0 {
		return func() {}
	}
	g, err := t.meter.Int64ObservableGauge(MetricBreakerState, metric.WithUnit("{state}"),
		metric.WithDescription("Refresh circuit breaker state per provider: 1 for the current state (closed, open, half_open), 0 for the others."))
	if err != nil {
		otel.Handle(err)
		return func() {}
	}
	names := append([]string(nil), providers...)
	reg, err := t.meter.RegisterCallback(func(_ context.Context, obs metric.Observer) error {
		cur := states()
		for _, name := range names {
			now, ok := cur[name]
			if !ok {
				now = "closed"
			}
			for _, s := range breakerStates {
				v := int64(0)
				if s == now {
					v = 1
				}
				obs.ObserveInt64(g, v, metric.WithAttributes(KeyProvider.String(name), KeyBreakerState.String(s)))
			}
		}
		return nil
	}, g)
	if err != nil {
		otel.Handle(err)
		return func() {}
	}
	return func() {
		if err := reg.Unregister(); err != nil {
			otel.Handle(err)
		}
	}
}
