package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoSecretsInLogsOrErrors runs logins, refreshes, failures and a logout
// with debug logging and scans logs, errors and %v/%+v/%#v output for the
// tokens, state, verifier, session cookie and login ID.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	var logs syncBuf
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, storeCases()[0], func(c *Config) { c.Logger = logger })
	var secrets []string
	var printed []string

	ctx := e.request("")
	a := Attempt{State: "STATE-" + randHex(8), Provider: "fake", Verifier: "VERIFIER-" + randHex(8), ReturnTo: "/x"}
	secrets = append(secrets, a.State, a.Verifier)
	if err := e.m.PutAttempt(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := e.m.TakeAttempt(ctx, "fake", a.State)
	if err != nil {
		t.Fatal(err)
	}
	printed = append(printed, fmt.Sprintf("%v %+v %#v %s %q", got, got, got, *got, *got))
	var attrs syncBuf
	slog.New(slog.NewTextHandler(&attrs, nil)).Info("attempt", "a", *got)
	printed = append(printed, attrs.String())

	cookie, id, tok := e.loginAged(time.Second)
	secrets = append(secrets, tok.AccessToken, tok.RefreshToken, cookie, id)
	l, _ := e.m.CurrentLogin(e.request(cookie))
	printed = append(printed, fmt.Sprintf("%v %+v %#v %s", l, l, l, l))
	attrs = syncBuf{}
	slog.New(slog.NewJSONHandler(&attrs, nil)).Info("login", "l", l)
	printed = append(printed, attrs.String())

	fresh, err := e.m.Token(e.request(cookie), e.prov) // refresh: logged
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, fresh.AccessToken, fresh.RefreshToken)
	e.clock.Advance(2 * time.Hour)
	e.prov.setFail(&provider.Error{Op: "refresh", Kind: provider.ErrUnavailable, Body: []byte(fresh.RefreshToken)})
	_, err = e.m.Token(e.request(cookie), e.prov)
	if !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	printed = append(printed, err.Error())
	e.prov.setFail(&provider.Error{Op: "refresh", Kind: provider.ErrInvalidGrant})
	e.m.clearBackoff(id)
	_, err = e.m.Token(e.request(cookie), e.prov)
	printed = append(printed, fmt.Sprint(err))
	if _, err := e.m.Logout(e.request(cookie)); err != nil {
		t.Fatal(err)
	}
	_, err = e.m.LoadByLoginID(context.Background(), id)
	printed = append(printed, fmt.Sprint(err))

	all := logs.String() + strings.Join(printed, "\n")
	if !strings.Contains(logs.String(), "token refreshed") {
		t.Fatal("the refresh was not logged at all")
	}
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Fatalf("secret %.6s… found in logs or printed values", s)
		}
	}
}
