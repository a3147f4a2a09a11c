package wazotest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/wazo/wazotest"
)

// ExampleNewServer starts a fake wazo-auth behind the platform's proxy path
// with a manual clock, logs a user in with raw HTTP and checks the counters.
func ExampleNewServer() {
	clock := wazotest.NewClock(time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC))
	srv := wazotest.NewServer(wazotest.Config{
		Users:      []wazotest.User{{Username: "alice", Password: "correct horse"}},
		PathPrefix: "/api/auth", // serves /api/auth/0.1
		Now:        clock.Now,
	})
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/token",
		strings.NewReader(`{"expiration": 3600, "access_type": "offline", "client_id": "my-app"}`))
	req.SetBasicAuth("alice", "correct horse")
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var reply struct {
		Data map[string]any `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&reply)

	fmt.Println(resp.Status, strings.HasSuffix(srv.URL, "/api/auth/0.1"))
	fmt.Println("utc_expires_at:", reply.Data["utc_expires_at"])
	fmt.Println("expires_at:", reply.Data["expires_at"])
	fmt.Println("has refresh_token:", reply.Data["refresh_token"] != nil)
	fmt.Println("token calls:", srv.Calls(wazotest.EndpointToken))

	// The next token call fails with a 503.
	srv.Fail(wazotest.EndpointToken, wazotest.Failure{Status: http.StatusServiceUnavailable})
	// Output:
	// 200 OK true
	// utc_expires_at: 2026-05-05T11:00:00.000000
	// expires_at: 2026-05-05T11:00:00
	// has refresh_token: true
	// token calls: 1
}
