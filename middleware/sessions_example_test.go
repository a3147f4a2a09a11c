package middleware_test

import (
	"encoding/json"
	"net/http"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/middleware"
	"github.com/gatehouse-auth/gatehouse/middleware/redislimit"
	"github.com/gatehouse-auth/gatehouse/provider"
	"github.com/gatehouse-auth/gatehouse/session"
	"github.com/gatehouse-auth/gatehouse/session/redisindex"
)

// ExampleAuth_UserSessions wires several instances to one Redis: the
// session index (logout and ended sessions hold on every instance), the
// built-in {BasePath}/sessions page, and shared rate limits; then serves
// the current user's sessions from an app handler and lets an
// administrator end all sessions of a user.
func ExampleAuth_UserSessions() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	sm := scs.New()
	sm.Store = goredisstore.New(rdb) // key prefix "scs:session:"
	idx, _ := redisindex.New(redisindex.Config{Client: rdb})
	sessions, err := session.New(session.Config{SessionManager: sm, Index: idx})
	if err != nil {
		return // for example: the index does not match the store
	}
	limits, _ := redislimit.New(redislimit.Config{Client: rdb})
	var providers []provider.Provider // your providers
	auth, err := middleware.New(middleware.Config{
		Providers: providers, Sessions: sessions, PublicURL: "https://app.example",
		SessionsPage: true, RateLimitStore: limits,
	})
	if err != nil {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/api/my-sessions", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := auth.UserSessions(r.Context())
		if err != nil {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(list) // ids, devices, times; never a token
	})))
	mux.Handle("POST /admin/users/{sub}/revoke", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// (check that the caller is an administrator first)
		n, err := auth.EndAllSessions(r.Context(), provider.Identity{Provider: "google", Subject: r.PathValue("sub")})
		if err != nil {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]int{"ended": n})
	})))
	_ = http.ListenAndServe("127.0.0.1:8080", auth.Wrap(mux))
}
