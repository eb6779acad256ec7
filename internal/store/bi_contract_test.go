package store_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"syncer/internal/store"
	"syncer/internal/testdb"
)

// The BI contract is what dashboards are written against: every view in
// schema bi, every column with its type. TestBIContract compares the
// migrated schema with testdata/bi_contract.golden and fails on any
// difference that CHANGELOG.md's "## Unreleased" section does not record,
// so a rename or retype cannot reach users unannounced (issue 10's renames
// broke every dashboard on upgrade). How to record a change is in the
// README, "Changing the BI contract".

var updateContract = flag.Bool("update", false, "rewrite testdata/bi_contract.golden (only changes CHANGELOG.md records)")

const (
	contractGolden = "testdata/bi_contract.golden"
	changelogPath  = "../../CHANGELOG.md"
)

// biContract lists "bi.view.column type" for every column of every bi view,
// in view and column order, with " deprecated" after a column whose comment
// starts with "Deprecated".
func biContract(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), `
		SELECT 'bi.' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
		       || CASE WHEN col_description(c.oid, a.attnum) ILIKE 'deprecated%' THEN ' deprecated' ELSE '' END
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE n.nspname = 'bi' AND c.relkind IN ('v', 'm')
		ORDER BY c.relname, a.attnum`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// contractChange is one difference between the golden and the schema, and
// the name the CHANGELOG must mention for it.
type contractChange struct {
	what string // "added", "removed", "changed"
	line string // the golden line (old for removed/changed, new for added)
	now  string // the new line of a changed column
	name string // bi.view.column
	view string // bi.view
}

func (c contractChange) String() string {
	switch c.what {
	case "changed":
		return fmt.Sprintf("changed %s: %q -> %q", c.name, c.line, c.now)
	default:
		return fmt.Sprintf("%s %q", c.what, c.line)
	}
}

// diffContract compares two listings by column name.
func diffContract(old, cur []string) []contractChange {
	key := func(l string) string { return strings.SplitN(l, " ", 2)[0] }
	viewOf := func(name string) string { return name[:strings.LastIndex(name, ".")] }
	o, n := map[string]string{}, map[string]string{}
	for _, l := range old {
		o[key(l)] = l
	}
	for _, l := range cur {
		n[key(l)] = l
	}
	var out []contractChange
	for _, l := range old {
		k := key(l)
		if nl, ok := n[k]; !ok {
			out = append(out, contractChange{what: "removed", line: l, name: k, view: viewOf(k)})
		} else if nl != l {
			out = append(out, contractChange{what: "changed", line: l, now: nl, name: k, view: viewOf(k)})
		}
	}
	for _, l := range cur {
		if _, ok := o[key(l)]; !ok {
			out = append(out, contractChange{what: "added", line: l, name: key(l), view: viewOf(key(l))})
		}
	}
	return out
}

// unreleasedEntries returns the top-level bullets of the "## Unreleased"
// section of a CHANGELOG (up to the next "## " heading), each with its
// continuation lines and nested bullets.
func unreleasedEntries(changelog string) []string {
	var entries []string
	in := false
	for _, l := range strings.Split(changelog, "\n") {
		if strings.HasPrefix(l, "## ") {
			in = strings.TrimSpace(strings.TrimPrefix(l, "## ")) == "Unreleased"
			continue
		}
		if !in {
			continue
		}
		switch {
		case strings.HasPrefix(l, "- "):
			entries = append(entries, l)
		case len(entries) > 0 && strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "#"):
			entries[len(entries)-1] += "\n" + l
		}
	}
	return entries
}

// recorded reports whether an entry names the change: the column as
// bi.view.column, or the view (as a word) together with the column in
// backticks, e.g. "`bi.coverage`: new column `agency_name`". A view that is
// new or gone as a whole needs only its name.
func recorded(entries []string, c contractChange, wholeView bool) bool {
	viewRe := regexp.MustCompile(regexp.QuoteMeta(c.view) + `\b`)
	col := c.name[strings.LastIndex(c.name, ".")+1:]
	for _, e := range entries {
		if strings.Contains(e, c.name) {
			return true
		}
		if !viewRe.MatchString(e) {
			continue
		}
		// "bi.view" followed by ".something" names another column, not the view.
		for _, m := range viewRe.FindAllStringIndex(e, -1) {
			if m[1] < len(e) && e[m[1]] == '.' {
				continue
			}
			if wholeView || strings.Contains(e, "`"+col+"`") {
				return true
			}
		}
	}
	return false
}

// unrecorded returns the changes the CHANGELOG entries do not mention.
func unrecorded(changes []contractChange, old, cur []string, entries []string) []contractChange {
	views := func(ls []string) map[string]bool {
		m := map[string]bool{}
		for _, l := range ls {
			k := strings.SplitN(l, " ", 2)[0]
			m[k[:strings.LastIndex(k, ".")]] = true
		}
		return m
	}
	ov, nv := views(old), views(cur)
	var out []contractChange
	for _, c := range changes {
		whole := (c.what == "added" && !ov[c.view]) || (c.what == "removed" && !nv[c.view])
		if !recorded(entries, c, whole) {
			out = append(out, c)
		}
	}
	return out
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with: go test ./internal/store -run TestBIContract -update)", err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func TestBIContract(t *testing.T) {
	t.Parallel()
	cur := biContract(t, testdb.New(t))
	if _, err := os.Stat(contractGolden); os.IsNotExist(err) && *updateContract {
		writeContract(t, cur) // the first golden: nothing to compare with
		return
	}
	old := readLines(t, contractGolden)
	changes := diffContract(old, cur)
	if len(changes) == 0 {
		return
	}
	b, err := os.ReadFile(changelogPath)
	if err != nil {
		t.Fatal(err)
	}
	missing := unrecorded(changes, old, cur, unreleasedEntries(string(b)))
	if len(missing) > 0 {
		lines := make([]string, len(missing))
		for i, c := range missing {
			lines[i] = c.String()
		}
		t.Fatalf("the BI contract changed and CHANGELOG.md does not say so (dashboards break on what it does not announce):\n  %s\n"+
			"Add a bullet under \"## Unreleased\" at the top of CHANGELOG.md naming each column as bi.view.column "+
			"(or the view and the column in backticks; a new or dropped view by its name), saying what changed; "+
			"a rename or removal keeps the old column for a release, with a COMMENT starting \"Deprecated\". "+
			"Then run: go test ./internal/store -run TestBIContract -update",
			strings.Join(lines, "\n  "))
	}
	if *updateContract {
		writeContract(t, cur)
		return
	}
	lines := make([]string, len(changes))
	for i, c := range changes {
		lines[i] = c.String()
	}
	t.Fatalf("the BI contract changed (CHANGELOG.md records it) but %s is stale:\n  %s\n"+
		"Run: go test ./internal/store -run TestBIContract -update, and commit the golden file.",
		contractGolden, strings.Join(lines, "\n  "))
}

func writeContract(t *testing.T, cur []string) {
	t.Helper()
	head := "# The BI contract: every bi view column and its type (TestBIContract).\n" +
		"# Rewritten by: go test ./internal/store -run TestBIContract -update\n" +
		"# which refuses changes that CHANGELOG.md's \"## Unreleased\" section does not record.\n"
	if err := os.MkdirAll(filepath.Dir(contractGolden), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(contractGolden, []byte(head+strings.Join(cur, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The checker itself: each kind of change is caught when the CHANGELOG is
// silent and let through when it names the column (or the whole view).
func TestBIContractChecker(t *testing.T) {
	t.Parallel()
	old := []string{
		"bi.a.x bigint",
		"bi.a.y text",
		"bi.b.z date",
	}
	cases := []struct {
		name      string
		cur       []string
		changelog string
		want      []string // names left unrecorded
	}{
		{"no change", old, "", nil},
		{"added column, silent", append(append([]string{}, old...), "bi.a.w text"), "## Unreleased\n\n- nothing\n", []string{"bi.a.w"}},
		{"added column, full name", append(append([]string{}, old...), "bi.a.w text"), "## Unreleased\n\n- New `bi.a.w`.\n", nil},
		{"added column, view and backticks", append(append([]string{}, old...), "bi.a.w text"), "## Unreleased\n\n- `bi.a`: new column\n  `w` (last).\n", nil},
		{"added column, other view named", append(append([]string{}, old...), "bi.a.w text"), "## Unreleased\n\n- `bi.ab`: new column `w`.\n", []string{"bi.a.w"}},
		{"added column, recorded in an old release", append(append([]string{}, old...), "bi.a.w text"), "## Unreleased\n\n## Released\n\n- `bi.a.w` new\n", []string{"bi.a.w"}},
		{"retyped", []string{"bi.a.x bigint", "bi.a.y date", "bi.b.z date"}, "## Unreleased\n- `bi.a.x` renamed\n", []string{"bi.a.y"}},
		{"deprecated", []string{"bi.a.x bigint deprecated", "bi.a.y text", "bi.b.z date"}, "## Unreleased\n- `bi.a.x` is deprecated\n", nil},
		{"removed column", []string{"bi.a.x bigint", "bi.b.z date"}, "## Unreleased\n- bi.b: nothing\n", []string{"bi.a.y"}},
		{"new view, named", append(append([]string{}, old...), "bi.c.p int", "bi.c.q int"), "## Unreleased\n- New view `bi.c`.\n", nil},
		{"new view, silent", append(append([]string{}, old...), "bi.c.p int"), "## Unreleased\n- New view `bi.cc`.\n", []string{"bi.c.p"}},
		{"dropped view, named", []string{"bi.a.x bigint", "bi.a.y text"}, "## Unreleased\n- `bi.b` is gone.\n", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			changes := diffContract(old, tc.cur)
			if tc.name != "no change" && len(changes) == 0 {
				t.Fatal("no change found")
			}
			var got []string
			for _, c := range unrecorded(changes, old, tc.cur, unreleasedEntries(tc.changelog)) {
				got = append(got, c.name)
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("unrecorded = %v, want %v", got, tc.want)
			}
		})
	}
}
