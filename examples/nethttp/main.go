// Command nethttp is the smallest net/http app on Gatehouse. It reads its
// provider from environment variables and falls back to an in-process fake
// when none is configured:
//
//	go run ./examples/nethttp                                   # fake OAuth2
//	GATEHOUSE_PROVIDER=wazo go run ./examples/nethttp           # fake Wazo
//	GATEHOUSE_PROVIDER=whisk WHISK_CLIENT_ID=… WHISK_CLIENT_SECRET=… \
//	  GATEHOUSE_PUBLIC_URL=https://app.example GATEHOUSE_ADDR=127.0.0.1:8080 \
//	  go run ./examples/nethttp                                 # real Whisk
//
// See README.md, "Configuring providers", for every variable.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse-auth/gatehouse/examples/internal/upstreams"
	"github.com/gatehouse-auth/gatehouse/examples/nethttp/app"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, logger, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run serves the app until ctx ends; see upstreams.Run for the variables
// and the banner.
func run(ctx context.Context, getenv func(string) string, logger *slog.Logger, out io.Writer, ready func(url string)) error {
	return upstreams.Run(ctx, getenv, out, ready, func(addr, public string) (upstreams.Started, error) {
		srv, err := app.Start(addr, app.Config{PublicURL: public, Getenv: getenv, Logger: logger})
		if err != nil {
			return upstreams.Started{}, err
		}
		return upstreams.Started{URL: srv.URL, Set: srv.Upstreams, Close: srv.Close}, nil
	})
}
