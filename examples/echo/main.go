// Command echo is the smallest Echo app on Gatehouse. It reads its
// provider from environment variables and falls back to an in-process fake
// when none is configured:
//
//	go run ./examples/echo                                   # fake OAuth2
//	GATEHOUSE_PROVIDER=wazo go run ./examples/echo           # fake Wazo
//	GATEHOUSE_PROVIDER=whisk WHISK_CLIENT_ID=… WHISK_CLIENT_SECRET=… \
//	  GATEHOUSE_PUBLIC_URL=https://app.example GATEHOUSE_ADDR=127.0.0.1:8080 \
//	  go run ./examples/echo                                 # real Whisk
//
// See README.md, "Configuring providers", for every variable.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse-auth/gatehouse/examples/echo/app"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	addr := os.Getenv("GATEHOUSE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := app.Start(addr, app.Config{PublicURL: os.Getenv("GATEHOUSE_PUBLIC_URL"), Logger: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	public := os.Getenv("GATEHOUSE_PUBLIC_URL")
	if public == "" {
		public = srv.URL
	}
	fmt.Printf("listening on %s; open %s/\n", srv.URL, public)
	for _, u := range srv.Upstreams.WazoUsers {
		fmt.Printf("fake Wazo account: %s / %s\n", u.Username, u.Password)
	}
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
