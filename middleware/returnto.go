package middleware

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxReturnTo bounds a return path.
const maxReturnTo = 2048

// ValidReturnTo reports whether raw is an acceptable post-login or
// post-logout target and returns it unchanged when it is. It implements the
// allow-list of RFC 9700 §4.11.1 / OWASP "Unvalidated Redirects": either
//
//   - a local path: exactly one leading "/" not followed by "/" or "\", no
//     backslash anywhere, no control character, whitespace or non-ASCII
//     look-alike of a delimiter ("／", "⁄", "。", "＠"…), no "." or ".."
//     path segments — checked on the raw value and again after every round
//     of percent-decoding (so "/%2f%2fevil" and "/%252f%252fevil" fail); or
//   - an absolute https URL whose host equals one of
//     Config.AllowedReturnHosts exactly (no suffix matching), with the same
//     path rules.
//
// Anything else (schemes such as javascript:, scheme-relative "//host",
// "http:/host", userinfo) is refused. Callers fall back to
// Config.DefaultReturnTo, never to another request-derived value.
func (a *Auth) ValidReturnTo(raw string) (string, bool) { return a.validReturnTo(raw) }

func (a *Auth) validReturnTo(raw string) (string, bool) {
	if raw == "" || len(raw) > maxReturnTo || !utf8.ValidString(raw) {
		return "", false
	}
	if !cleanAllDecodings(raw) {
		return "", false
	}
	if raw[0] == '/' {
		if len(raw) > 1 && (raw[1] == '/' || raw[1] == '\\') {
			return "", false
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
			return "", false
		}
		return raw, true
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", false
	}
	// The scheme must be written exactly "https://" (url.Parse lowercases
	// it and tolerates oddities we do not want to reason about).
	if !strings.HasPrefix(raw, "https://") {
		return "", false
	}
	if !a.allowedHosts[u.Host] {
		return "", false
	}
	if u.Path != "" && !strings.HasPrefix(u.Path, "/") {
		return "", false
	}
	return raw, true
}

// cleanAllDecodings checks s and each successive percent-decoding of it
// (until it stops changing) for characters and shapes that browsers or
// servers reinterpret.
func cleanAllDecodings(s string) bool {
	for range 8 {
		if !cleanOnce(s) {
			return false
		}
		if !strings.Contains(s, "%") {
			return true
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return false // malformed escapes are refused
		}
		if d == s {
			return true
		}
		s = d
	}
	return false // more nesting than any honest link needs
}

func cleanOnce(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '\\' || r < 0x20 || r == 0x7f || unicode.IsSpace(r) || unicode.IsControl(r) ||
			unicode.Is(unicode.Cf, r) || (r >= utf8.RuneSelf && lookalike(r)) {
			return false
		}
	}
	if strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
		return false
	}
	// Strip the query and fragment: dot segments matter in the path only.
	p := s
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if i := strings.Index(p, "://"); i >= 0 { // absolute URL: check its path
		rest := p[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return true
		}
		p = rest[j:]
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// lookalikes are non-ASCII characters that some browser, IDNA mapping or
// server-side normalisation turns into URL delimiters: slashes, dots
// (IDNA treats U+3002, U+FF0E and U+FF61 as label separators), "@".
var lookalikes = map[rune]bool{
	'\u2044': true, '\u2215': true, '\u2571': true, '\u29F8': true, '\uFF0F': true, // slashes
	'\u2216': true, '\u29F5': true, '\u29F9': true, '\uFE68': true, '\uFF3C': true, // backslashes
	'\u3002': true, '\uFF0E': true, '\uFF61': true, '\uFE52': true, '\u2024': true, // dots
	'\uFE6B': true, '\uFF20': true, // at signs
}

// lookalike reports whether the non-ASCII rune r is, or normalises (NFKC)
// to something containing, a URL delimiter. Such characters have no
// business in a return path; refusing them costs an honest link nothing
// but a fallback to the default.
func lookalike(r rune) bool {
	if lookalikes[r] {
		return true
	}
	return strings.ContainsAny(norm.NFKC.String(string(r)), "/\\.:@?#%;")
}

// returnTo validates raw and falls back to the configured default.
func (a *Auth) returnTo(raw string) string {
	if v, ok := a.validReturnTo(raw); ok {
		return v
	}
	return a.cfg.DefaultReturnTo
}
