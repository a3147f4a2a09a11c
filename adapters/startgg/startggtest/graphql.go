package startggtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/adapters/oauth2/oauth2test"
)

// Limits of the GraphQL endpoint.
const (
	maxQueryBody = 1 << 20
	maxTokens    = 10000
	maxDepth     = 10
)

// serveGraphQL answers the currentUser query (the only one the fake knows)
// for a Bearer token, the way start.gg's /gql/alpha does.
func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	var query string
	switch r.Method {
	case http.MethodGet:
		query = r.URL.Query().Get("query")
	case http.MethodPost:
		var body struct {
			Query         string          `json:"query"`
			OperationName string          `json:"operationName"`
			Variables     json.RawMessage `json:"variables"`
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxQueryBody))
		if err != nil || json.Unmarshal(raw, &body) != nil {
			writeFailure(w, http.StatusBadRequest, "Invalid JSON body")
			return
		}
		query = body.Query
	default:
		w.Header().Set("Allow", "GET, POST")
		writeFailure(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	info, ok := s.BearerToken(r)
	if !ok {
		writeFailure(w, http.StatusUnauthorized, "Invalid authentication token")
		return
	}
	sel, err := parseQuery(query)
	if err != nil {
		writeGraphQL(w, nil, err.Error())
		return
	}
	data := map[string]any{}
	for _, f := range sel {
		if f.name != "currentUser" {
			writeGraphQL(w, nil, fmt.Sprintf("startggtest: only the currentUser query is supported, not %q", f.name))
			return
		}
		user, ok := s.users[info.User.Subject]
		if !ok {
			writeGraphQL(w, map[string]any{f.alias: nil}, "Unknown user")
			return
		}
		obj, verr, scopeErr := s.renderUser(user, f, info)
		switch {
		case verr != "":
			writeGraphQL(w, nil, verr) // a validation error: no data at all
			return
		case scopeErr != "":
			writeGraphQL(w, map[string]any{f.alias: nil}, scopeErr)
			return
		}
		data[f.alias] = obj
	}
	writeGraphQL(w, data, "")
}

// writeGraphQL writes a 200 GraphQL reply: data (omitted when nil) and, if
// msg is set, an errors array holding it.
func writeGraphQL(w http.ResponseWriter, data map[string]any, msg string) {
	reply := map[string]any{}
	if data != nil {
		reply["data"] = data
	}
	if msg != "" {
		reply["errors"] = []map[string]any{{"message": msg}}
	}
	oauth2test.WriteJSON(w, http.StatusOK, reply)
}

// renderUser builds currentUser's selected fields. It returns a
// validation error (unknown field, bad selection) or a scope error
// (user.identity or user.email not granted).
func (s *Server) renderUser(u User, f field, info oauth2test.TokenInfo) (obj map[string]any, validation, scope string) {
	if f.sub == nil {
		return nil, `Field "currentUser" of type "User" must have a selection of subfields.`, ""
	}
	if !info.HasScope("user.identity") {
		return nil, "", "Missing required scope: user.identity"
	}
	obj = map[string]any{}
	for _, c := range f.sub {
		if msg := scalarSelection(c, "player"); msg != "" {
			return nil, msg, ""
		}
		switch c.name {
		case "id":
			obj[c.alias] = s.id(u.ID)
		case "slug":
			obj[c.alias] = u.Slug
		case "name":
			obj[c.alias] = u.Name
		case "discriminator":
			obj[c.alias] = u.Discriminator
		case "email":
			if !info.HasScope("user.email") {
				scope = "Missing required scope: user.email"
			}
			obj[c.alias] = u.Email
		case "player":
			p, verr := s.renderPlayer(u, c)
			if verr != "" {
				return nil, verr, ""
			}
			obj[c.alias] = p
		case "__typename":
			obj[c.alias] = "User"
		default:
			return nil, fmt.Sprintf("Cannot query field %q on type \"User\".", c.name), ""
		}
	}
	if scope != "" {
		return nil, "", scope
	}
	return obj, "", ""
}

func (s *Server) renderPlayer(u User, f field) (map[string]any, string) {
	if f.sub == nil {
		return nil, `Field "player" of type "Player" must have a selection of subfields.`
	}
	obj := map[string]any{}
	for _, c := range f.sub {
		if msg := scalarSelection(c, ""); msg != "" {
			return nil, msg
		}
		switch c.name {
		case "id":
			obj[c.alias] = s.id(u.PlayerID)
		case "gamerTag":
			obj[c.alias] = u.GamerTag
		case "prefix":
			if u.GamerTagPrefix == "" {
				obj[c.alias] = nil
			} else {
				obj[c.alias] = u.GamerTagPrefix
			}
		case "__typename":
			obj[c.alias] = "Player"
		default:
			return nil, fmt.Sprintf("Cannot query field %q on type \"Player\".", c.name)
		}
	}
	return obj, ""
}

// scalarSelection is GraphQL's complaint about a sub-selection on a scalar
// field, or "" when c is fine (object is the one object-typed field).
func scalarSelection(c field, object string) string {
	if c.sub == nil || c.name == object {
		return ""
	}
	return fmt.Sprintf("Field %q must not have a selection since its type is a scalar.", c.name)
}

// id renders a GraphQL ID as a JSON number, or a string with StringIDs.
func (s *Server) id(v int64) any {
	if s.cfg.StringIDs {
		return strconv.FormatInt(v, 10)
	}
	return v
}

// field is one selected field: alias (the output key), name and, for
// object fields, the sub-selection.
type field struct {
	alias, name string
	sub         []field
}

// parseQuery reads one anonymous or named query operation and returns its
// top-level selection set. Arguments, variable definitions and directives
// are skipped; fragments, mutations and several operations are refused.
// It is a test double's parser, not a GraphQL implementation.
func parseQuery(q string) ([]field, error) {
	toks, err := tokenize(q)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	switch p.peek() {
	case "query":
		p.next()
		if isName(p.peek()) {
			p.next()
		}
		if p.peek() == "(" {
			if err := p.skipBalanced(); err != nil {
				return nil, err
			}
		}
	case "mutation", "subscription":
		return nil, errors.New("startggtest: only queries are supported")
	}
	sel, err := p.selectionSet(0)
	if err != nil {
		return nil, err
	}
	if p.peek() != "" {
		return nil, errors.New("startggtest: one operation only, and no fragments")
	}
	return sel, nil
}

type parser struct {
	toks []string
	i    int
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *parser) next() string {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

// skipBalanced skips a parenthesised group (arguments, variables).
func (p *parser) skipBalanced() error {
	depth := 0
	for {
		switch p.next() {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return nil
			}
		case "":
			return errors.New("Syntax Error: unbalanced parentheses")
		}
	}
}

func (p *parser) selectionSet(depth int) ([]field, error) {
	if depth > maxDepth {
		return nil, errors.New("startggtest: query nested too deeply")
	}
	if p.next() != "{" {
		return nil, errors.New(`Syntax Error: expected "{"`)
	}
	var out []field
	for p.peek() != "}" {
		name := p.next()
		switch {
		case name == "":
			return nil, errors.New("Syntax Error: unexpected end of query")
		case name == "...":
			return nil, errors.New("startggtest: fragments are not supported")
		case !isName(name):
			return nil, fmt.Errorf("Syntax Error: unexpected %q", name)
		}
		f := field{alias: name, name: name}
		if p.peek() == ":" {
			p.next()
			if f.name = p.next(); !isName(f.name) {
				return nil, errors.New("Syntax Error: expected a field name after the alias")
			}
		}
		if p.peek() == "(" {
			if err := p.skipBalanced(); err != nil {
				return nil, err
			}
		}
		for p.peek() == "@" {
			p.next()
			p.next()
			if p.peek() == "(" {
				if err := p.skipBalanced(); err != nil {
					return nil, err
				}
			}
		}
		if p.peek() == "{" {
			sub, err := p.selectionSet(depth + 1)
			if err != nil {
				return nil, err
			}
			f.sub = sub
		}
		out = append(out, f)
	}
	p.next()
	if len(out) == 0 {
		return nil, errors.New("Syntax Error: empty selection set")
	}
	return out, nil
}

// tokenize splits a GraphQL document into names, punctuators, "..." and
// placeholders for string and number literals.
func tokenize(q string) ([]string, error) {
	var toks []string
	for i := 0; i < len(q); {
		if len(toks) > maxTokens {
			return nil, errors.New("startggtest: query too long")
		}
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',':
			i++
		case c == '#':
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case c == '"':
			end, err := skipString(q, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, `""`)
			i = end
		case strings.HasPrefix(q[i:], "..."):
			toks = append(toks, "...")
			i += 3
		case isNameByte(c, true):
			j := i + 1
			for j < len(q) && isNameByte(q[j], false) {
				j++
			}
			toks = append(toks, q[i:j])
			i = j
		case c == '-' || c >= '0' && c <= '9':
			j := i + 1
			for j < len(q) && strings.IndexByte("0123456789.eE+-", q[j]) >= 0 {
				j++
			}
			toks = append(toks, "0")
			i = j
		case strings.IndexByte("{}():$!=[]@|&", c) >= 0:
			toks = append(toks, string(c))
			i++
		default:
			return nil, fmt.Errorf("Syntax Error: unexpected character %q", c)
		}
	}
	return toks, nil
}

// skipString returns the index just past the string literal at q[i].
func skipString(q string, i int) (int, error) {
	if strings.HasPrefix(q[i:], `"""`) {
		end := strings.Index(q[i+3:], `"""`)
		if end < 0 {
			return 0, errors.New("Syntax Error: unterminated string")
		}
		return i + 3 + end + 3, nil
	}
	for j := i + 1; j < len(q); j++ {
		switch q[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		case '\n':
			return 0, errors.New("Syntax Error: unterminated string")
		}
	}
	return 0, errors.New("Syntax Error: unterminated string")
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

func isName(t string) bool { return t != "" && isNameByte(t[0], true) }
