// Command demo is Gatehouse's one-command demo: fake Whisk, start.gg, Wazo
// and OAuth2 providers in-process, and an app that signs in with each.
//
//	go run ./examples/demo                     # http://127.0.0.1:8080
//	go run ./examples/demo -addr 127.0.0.1:9000
//
// No configuration, no network. See package app for the pieces.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse-auth/gatehouse/examples/demo/app"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "loopback address to listen on")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, logger, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run serves the demo on addr until ctx ends, printing where to go and the
// demo accounts to out. ready, when non-nil, gets the base URL once the
// banner is printed.
func run(ctx context.Context, addr string, logger *slog.Logger, out io.Writer, ready func(url string)) error {
	srv, err := app.Start(addr, app.Config{Logger: logger})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nGatehouse demo: open %s\n\n", srv.URL)
	fmt.Fprintln(out, "Providers (all fakes, in this process):")
	for _, u := range srv.Upstreams.Upstreams {
		fmt.Fprintf(out, "  %-15s %s/auth/%s/login\n", u.Provider.Name(), srv.URL, u.Provider.Name())
	}
	fmt.Fprintln(out, "\nWazo demo accounts (username / password):")
	for _, c := range srv.WazoUsers {
		fmt.Fprintf(out, "  %s / %s\n", c.Username, c.Password)
	}
	fmt.Fprintf(out, "\nAccess tokens live %s; watch the home page refresh them. Ctrl-C stops.\n\n", app.DefaultAccessTTL)
	if ready != nil {
		ready(srv.URL)
	}
	<-ctx.Done()
	fmt.Fprintln(out, "shutting down")
	return srv.Close()
}
