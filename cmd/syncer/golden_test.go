package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// update rewrites the golden files: go test ./cmd/syncer -update (then read
// the diff before committing it).
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// render shows one command as a golden file holds it: the command line,
// the exit status and what it printed for a person. Log lines are left
// out: they are the operator's record, not the command's output, and
// their wording is checked where it matters.
func render(args []string, r result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ syncer %s\nexit %d\n", strings.Join(quoteArgs(args), " "), r.code)
	if r.stdout != "" {
		fmt.Fprintf(&b, "--- stdout\n%s", ensureNewline(r.stdout))
	}
	if stderr := reLogLine.ReplaceAllString(r.stderr, ""); stderr != "" {
		fmt.Fprintf(&b, "--- stderr\n%s", ensureNewline(stderr))
	}
	return b.String()
}

// reLogLine is a slog text line.
var reLogLine = regexp.MustCompile(`(?m)^time=\S+ level=.*\n?`)

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \n\t\"'") {
			a = fmt.Sprintf("%q", a)
		}
		out[i] = a
	}
	return out
}

func ensureNewline(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

// Volatile parts of CLI output. Amounts, client ids and counts stay: they
// are what a golden file is for.
var (
	reLogTime   = regexp.MustCompile(`time=\S+ `)
	reTimestamp = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?`)
	reDuration  = regexp.MustCompile(`\b(\d+h)?(\d+m)?\d+(\.\d+)?(ns|µs|ms|s)\b`)
	rePort      = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	reTempDir   = regexp.MustCompile(regexp.QuoteMeta(os.TempDir()) + `/[^/\s"]+/\d+`)
)

// normalize replaces each old with its new (a database URL, a simulator
// URL), then temporary directories, log times, timestamps, ports and
// durations, so a golden file holds only what a run decides.
func normalize(s string, oldnew ...string) string {
	for i := 0; i+1 < len(oldnew); i += 2 {
		if oldnew[i] != "" {
			s = strings.ReplaceAll(s, oldnew[i], oldnew[i+1])
		}
	}
	s = reTempDir.ReplaceAllString(s, "$$TMPDIR")
	s = reLogTime.ReplaceAllString(s, "time=TIME ")
	s = reTimestamp.ReplaceAllString(s, "TIMESTAMP")
	s = rePort.ReplaceAllString(s, "127.0.0.1:PORT")
	return reDuration.ReplaceAllString(s, "DURATION")
}

// golden compares got with testdata/<test name>.golden (a subtest's name
// makes a folder), or writes it with -update.
func golden(t *testing.T, got string) {
	t.Helper()
	path := filepath.Join("testdata", filepath.FromSlash(t.Name())+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/syncer -run '%s' -update creates it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test ./cmd/syncer -update rewrites it; read the diff):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff shows the lines that differ, enough to see what changed.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}
