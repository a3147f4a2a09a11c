package upstreams

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxReply bounds how much of an upstream reply Call reads.
const maxReply = 1 << 20

// Reply is what Call returns: the request made and the upstream's answer.
type Reply struct {
	Method string          `json:"method"`
	URL    string          `json:"url"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// Call makes api's request with client (the upstream client of
// middleware.Auth.Client, which adds the user's credential) and returns the
// reply. A reply that is not JSON is returned as a JSON string.
func Call(ctx context.Context, client *http.Client, api APICall) (*Reply, error) {
	if api.URL == "" {
		return nil, fmt.Errorf("%w: no upstream API URL configured", ErrConfig)
	}
	var body io.Reader
	if api.Body != "" {
		body = strings.NewReader(api.Body)
	}
	req, err := http.NewRequestWithContext(ctx, api.Method, api.URL, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if api.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return nil, err
	}
	if !json.Valid(b) {
		b, _ = json.Marshal(string(b))
	}
	return &Reply{Method: api.Method, URL: api.URL, Status: resp.StatusCode, Body: b}, nil
}
