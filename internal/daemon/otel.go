package daemon

import (
	"context"
	"fmt"

	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// tracing wires OpenTelemetry into River when an OTLP endpoint is
// configured: every job run becomes a span exported over OTLP/HTTP. It
// returns no middleware, and exports nothing, when none is.
func tracing(ctx context.Context, endpoint string) ([]rivertype.Middleware, func(context.Context) error, error) {
	if endpoint == "" {
		return nil, func(context.Context) error { return nil }, nil
	}
	exporter, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, nil, fmt.Errorf("daemon: otlp exporter for %s: %w", endpoint, err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter))
	mw := otelriver.NewMiddleware(&otelriver.MiddlewareConfig{TracerProvider: tp})
	return []rivertype.Middleware{mw}, tp.Shutdown, nil
}
