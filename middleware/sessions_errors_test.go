package middleware_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/servicetest"
)

// A JSON body posted to the sessions endpoints is answered in JSON, its
// errors too, whatever the Accept header (curl sends */*): the success
// already was, a 404 or 400 was an HTML page.
func TestSessionsJSONErrorsAreJSON(t *testing.T) {
	be := redisBackend(t, servicetest.Env(t, "GATEHOUSE_REDIS_ADDR"))
	cl := newCluster(t, be, 1, nil)
	h := cl.inst[0].h
	cookie, _ := cl.login(h)
	cases := []struct {
		name       string
		givenBody  string
		expectCode int
	}{
		{"unknown handle", `{"id":"no-such-session"}`, http.StatusNotFound},
		{"malformed JSON", `{"id":`, http.StatusBadRequest},
		{"no id", `{}`, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// when: a JSON post with Accept */*
			res := do(h, http.MethodPost, "/auth/sessions/end", cookie, "", tc.givenBody, "Accept", "*/*")
			// expect: the status, as a JSON error
			var body struct {
				Error string `json:"error"`
			}
			if res.StatusCode != tc.expectCode || res.Header.Get("Content-Type") != "application/json" ||
				json.NewDecoder(res.Body).Decode(&body) != nil || body.Error == "" {
				t.Fatalf("got %d %q, want %d with a JSON error", res.StatusCode, res.Header.Get("Content-Type"), tc.expectCode)
			}
		})
	}
}
