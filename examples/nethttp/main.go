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

// run serves the app until ctx ends. GATEHOUSE_ADDR (default
// 127.0.0.1:8080) is the listen address, GATEHOUSE_PUBLIC_URL the external
// URL (default: the listener's http URL). ready, when non-nil, gets the
// listener's URL once serving.
func run(ctx context.Context, getenv func(string) string, logger *slog.Logger, out io.Writer, ready func(url string)) error {
	addr := getenv("GATEHOUSE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	public := getenv("GATEHOUSE_PUBLIC_URL")
	srv, err := app.Start(addr, app.Config{PublicURL: public, Getenv: getenv, Logger: logger})
	if err != nil {
		return err
	}
	if public == "" {
		public = srv.URL
	}
	fmt.Fprintf(out, "listening on %s; open %s/\n", srv.URL, public)
	for _, u := range srv.Upstreams.Upstreams {
		if u.Fake {
			fmt.Fprintf(out, "provider %s: an in-process fake (set the %s variables for the real one)\n", u.Provider.Name(), u.Style)
		}
	}
	for _, u := range srv.Upstreams.WazoUsers {
		fmt.Fprintf(out, "fake Wazo account: %s / %s\n", u.Username, u.Password)
	}
	if ready != nil {
		ready(srv.URL)
	}
	<-ctx.Done()
	return srv.Close()
}
