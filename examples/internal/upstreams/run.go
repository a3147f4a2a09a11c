package upstreams

import (
	"context"
	"fmt"
	"io"
)

// Started is what an example's Start returned, as Run needs it.
type Started struct {
	// URL is the listener's base URL.
	URL string
	// Set is the configured providers (and their fakes).
	Set *Set
	// Close stops the server and the app.
	Close func() error
}

// Run is the body of the example commands: it starts the app with start
// on GATEHOUSE_ADDR (default 127.0.0.1:8080) and GATEHOUSE_PUBLIC_URL
// (default: the listener's URL), prints a banner (fakes in use, the fake
// Wazo accounts) to out, calls ready with the URL when non-nil, and serves
// until ctx ends.
func Run(ctx context.Context, getenv func(string) string, out io.Writer, ready func(url string), start func(addr, publicURL string) (Started, error)) error {
	addr := getenv("GATEHOUSE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	public := getenv("GATEHOUSE_PUBLIC_URL")
	srv, err := start(addr, public)
	if err != nil {
		return err
	}
	if public == "" {
		public = srv.URL
	}
	fmt.Fprintf(out, "listening on %s; open %s/\n", srv.URL, public)
	for _, u := range srv.Set.Upstreams {
		if u.Fake {
			fmt.Fprintf(out, "provider %s: an in-process fake (set the %s variables for the real one)\n", u.Provider.Name(), u.Style)
		}
	}
	for _, u := range srv.Set.WazoUsers {
		fmt.Fprintf(out, "fake Wazo account: %s / %s\n", u.Username, u.Password)
	}
	if ready != nil {
		ready(srv.URL)
	}
	<-ctx.Done()
	return srv.Close()
}
