package provider

// Identity is who the upstream says the user is. It holds no secrets and may
// be logged, shown and stored freely.
type Identity struct {
	// Provider is the name of the provider that vouched for the user.
	Provider string `json:"provider"`
	// Subject is the user's stable id at that provider. Together with
	// Provider it identifies the user; email and name may change.
	Subject string `json:"sub"`
	Name    string `json:"name,omitempty"`
	Email   string `json:"email,omitempty"`
	Picture string `json:"picture,omitempty"`
	// SessionID is the upstream's own session id for this login (the
	// OpenID Connect "sid" claim), when it gives one. Back-channel logout
	// names the sessions to end by it. Empty for most OAuth2 upstreams.
	SessionID string `json:"upstream_sid,omitempty"`
	// Raw holds the upstream's own claims (non-secret), for fields
	// Gatehouse does not map.
	Raw map[string]any `json:"raw,omitempty"`
}
