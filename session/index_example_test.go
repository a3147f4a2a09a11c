package session_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
)

// ExampleManager_EndSessions lists a user's sessions and ends them all
// ("log out everywhere"). With Redis or PostgreSQL, pass
// session/redisindex or session/pgindex as Config.Index instead; every
// instance sharing the store then sees the sessions ended at once.
func ExampleManager_EndSessions() {
	m, err := session.New(session.Config{Index: session.NewMemIndex()})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	ctx := context.Background()
	for _, device := range []string{"Firefox on Linux", "Safari on iOS"} {
		rctx, _ := m.Sessions().Load(ctx, "") // a request's session, as LoadAndSave makes it
		_ = m.SaveLogin(rctx, &session.Login{Provider: "example", Device: device,
			Identity: provider.Identity{Subject: "user-1", SessionID: "op-session-7"},
			Token:    &provider.Token{AccessToken: "secret", Expiry: time.Now().Add(time.Hour)}})
		_, _, _ = m.Sessions().Commit(rctx)
	}
	user := session.Selector{Provider: "example", Subject: "user-1"}
	list, _ := m.ListSessions(ctx, user)
	fmt.Println(len(list), "sessions")
	// The OpenID Connect back-channel logout ends by upstream session id.
	n, _ := m.EndSessions(ctx, session.Selector{Provider: "example", SID: "op-session-7"})
	fmt.Println(n, "ended")
	list, _ = m.ListSessions(ctx, user)
	fmt.Println(len(list), "left")
	// Output:
	// 2 sessions
	// 2 ended
	// 0 left
}

// ExampleManager_Once refuses a replayed logout token by its "jti".
func ExampleManager_Once() {
	m, _ := session.New(session.Config{Index: session.NewMemIndex()})
	defer m.Close()
	for range 2 {
		first, _ := m.Once(context.Background(), "jti:4f1c", 10*time.Minute)
		fmt.Println(first)
	}
	// Output:
	// true
	// false
}

// ExampleManager_ForgetOnce records a token as used, fails at the step the
// record guards, and forgets it again, so that the sender's retry is not
// taken for a replay.
func ExampleManager_ForgetOnce() {
	m, _ := session.New(session.Config{Index: session.NewMemIndex()})
	defer m.Close()
	ctx := context.Background()
	handle := func(jti string, fail bool) string {
		first, err := m.Once(ctx, jti, 10*time.Minute)
		if err != nil || !first {
			return "refused: already used"
		}
		if fail { // the work failed: let the sender try again
			_ = m.ForgetOnce(ctx, jti)
			return "failed: try again"
		}
		return "done"
	}
	fmt.Println(handle("jti:9a2e", true))
	fmt.Println(handle("jti:9a2e", false))
	fmt.Println(handle("jti:9a2e", false))
	// Output:
	// failed: try again
	// done
	// refused: already used
}
