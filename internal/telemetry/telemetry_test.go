package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/gatehouse-auth/gatehouse/provider"
)

func TestCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		given  error
		expect string
	}{
		{"nil", nil, "ok"},
		{"invalid grant", &provider.Error{Kind: provider.ErrInvalidGrant, Code: "invalid_grant"}, "invalid_grant"},
		{"invalid credentials", &provider.Error{Kind: provider.ErrInvalidCredentials}, "invalid_credentials"},
		{"no refresh token", fmt.Errorf("refresh: %w", provider.ErrNoRefreshToken), "no_refresh_token"},
		{"503", &provider.Error{Kind: provider.ErrUnavailable, StatusCode: http.StatusServiceUnavailable}, "unavailable"},
		{"connection refused", &provider.Error{Kind: provider.ErrUnavailable}, "unavailable"},
		{"upstream 429", &provider.Error{Kind: provider.ErrUnavailable, StatusCode: http.StatusTooManyRequests}, "rate_limited"},
		{"bad response", &provider.Error{Kind: provider.ErrBadResponse}, "bad_response"},
		{"rejected", &provider.Error{Kind: provider.ErrRejected, Code: "invalid_client"}, "rejected"},
		{"unauthorized", &provider.Error{Kind: provider.ErrUnauthorized}, "unauthorized"},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), "timeout"},
		{"canceled", context.Canceled, "canceled"},
		{"anything else", errors.New("some text with a secret-looking value"), "_OTHER"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Code(tc.given); got != tc.expect {
				t.Errorf("Code(%v) = %q, want %q", tc.given, got, tc.expect)
			}
		})
	}
}

// TestNoSDK: with no-op providers (and the global ones, no SDK installed)
// Start returns the caller's context and a nil Op, and every method on it
// and on a nil Telemetry is safe.
func TestNoSDK(t *testing.T) {
	t.Parallel()
	for name, tel := range map[string]*Telemetry{
		"noop":   New(tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider()),
		"global": New(nil, nil),
		"nil":    nil,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			for k := LoginStart; k <= Revoke; k++ {
				got, op := tel.Start(ctx, k, "alpha")
				if got != ctx || op != nil {
					t.Errorf("%s: Start returned a new context or an Op", spanNames[k])
				}
				op.SetProvider("alpha")
				op.SetAttempts(2)
				tel.Failure(got, "alpha", "rate_limited")
				Succeeded(got)
				op.EndErr(errors.New("x"))
				op.EndCode("x")
				op.End()
			}
			tel.ObserveBreakers([]string{"alpha"}, func() map[string]string { return nil })()
		})
	}
}

// TestRequestOutcome: the first failure is a request's outcome, a login
// event after it does not turn it into "ok", nothing changes it after End,
// and a detached context does not reach it.
func TestRequestOutcome(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	reader := sdkmetric.NewManualReader()
	tel := New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)), sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))

	ctx, op := tel.Start(context.Background(), Callback, "alpha")
	tel.Failure(Detach(ctx), "alpha", "revoke_failed") // background work's failure: not the request's
	tel.Failure(ctx, "alpha", "login_failed")
	tel.Failure(ctx, "alpha", "other")
	Succeeded(ctx)
	op.End()
	tel.Failure(ctx, "alpha", "late") // after End: counted, the span is left alone
	op.End()                          // twice: once only

	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	s := spans[0]
	if s.Status().Code != codes.Error || s.Status().Description != "login_failed" {
		t.Errorf("status %v, want error login_failed", s.Status())
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
			v, _ := p.Attributes.Value(KeyErrorType)
			o, _ := p.Attributes.Value(KeyOutcome)
			got[m.Name+"/"+v.AsString()+o.AsString()] += p.Value
		}
	}
	want := map[string]int64{
		MetricLogins + "/login_failed":    1,
		MetricFailures + "/revoke_failed": 1, MetricFailures + "/login_failed": 1,
		MetricFailures + "/other": 1, MetricFailures + "/late": 1,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("metrics %v, want %v", got, want)
	}
}
