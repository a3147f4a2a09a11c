package startggtest

import "testing"

// FuzzParseQuery: the fake's small GraphQL reader never panics, and what it
// accepts has a non-empty selection set with named fields.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		`query GatehouseIdentity { currentUser { id slug name discriminator email player { gamerTag } } }`,
		`{ me: currentUser { uid: id } }`,
		"# c\nquery Q($x: Int = 1, $s: String = \"a\\\"b\") { currentUser @include(if: true) { id } }",
		`{ a { b { c { d { e { f { g { h { i { j { k { l } } } } } } } } } } } }`,
		`""" block """ { x }`, `{ ... on User { id } }`, `mutation { x }`, `{`, `}`, ``, `(((`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		sel, err := parseQuery(q)
		if err != nil {
			return
		}
		var check func([]field, int)
		check = func(fs []field, depth int) {
			if len(fs) == 0 || depth > maxDepth+1 {
				t.Fatalf("accepted %q with an empty or too deep selection", q)
			}
			for _, f := range fs {
				if !isName(f.name) || !isName(f.alias) {
					t.Fatalf("accepted %q with field %+v", q, f)
				}
				if f.sub != nil {
					check(f.sub, depth+1)
				}
			}
		}
		check(sel, 0)
	})
}
