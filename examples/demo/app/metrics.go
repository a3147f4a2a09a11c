package app

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// metrics is the demo's OpenTelemetry SDK: a MeterProvider whose only
// reader is a Prometheus exporter on a registry of the demo's own (not the
// process-wide default, so several demos in one test process do not mix),
// served at GET /metrics. Gatehouse itself only sees the MeterProvider
// (middleware.Config and session.Config): it uses the OpenTelemetry API,
// the app picks the SDK and exporter.
type metrics struct {
	provider *sdkmetric.MeterProvider
	handler  http.Handler
}

func newMetrics() (*metrics, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	return &metrics{
		provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)),
		handler:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
	}, nil
}

func (m *metrics) close() { _ = m.provider.Shutdown(context.Background()) }
