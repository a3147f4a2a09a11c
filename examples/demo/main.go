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
	if err := run(*addr, logger); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(addr string, logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := app.Start(addr, app.Config{Logger: logger})
	if err != nil {
		return err
	}
	fmt.Printf("\nGatehouse demo: open %s\n\n", srv.URL)
	fmt.Println("Providers (all fakes, in this process):")
	for _, u := range srv.Upstreams.Upstreams {
		fmt.Printf("  %-15s %s/auth/%s/login\n", u.Provider.Name(), srv.URL, u.Provider.Name())
	}
	fmt.Println("\nWazo demo accounts (username / password):")
	for _, c := range srv.WazoUsers {
		fmt.Printf("  %s / %s\n", c.Username, c.Password)
	}
	fmt.Printf("\nAccess tokens live %s; watch the home page refresh them. Ctrl-C stops.\n\n", app.DefaultAccessTTL)
	<-ctx.Done()
	fmt.Println("\nshutting down")
	return srv.Close()
}
