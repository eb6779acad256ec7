package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeModule lays out a throwaway module "m" from name -> source.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["go.mod"] = "module m\n\ngo 1.26\n"
	for name, src := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestImportRules(t *testing.T) {
	t.Parallel()
	dir := writeModule(t, map[string]string{
		"cmd/app/main.go":                   "package main\n\nfunc main() {}\n",
		"internal/store/store.go":           "package store\n\nconst Name = \"store\"\n",
		"internal/helper/helper.go":         "package helper\n\nimport \"m/internal/store\"\n\nconst Name = store.Name\n",
		"internal/providers/a/a.go":         "package a\n\nimport \"m/internal/store\"\n\nconst Name = store.Name\n",
		"internal/providers/b/b.go":         "package b\n\nimport \"m/internal/helper\"\n\nconst Name = helper.Name\n",
		"internal/providers/c/c_test.go":    "package c\n\nimport (\n\t\"testing\"\n\n\t\"m/internal/store\"\n)\n\nfunc TestX(t *testing.T) { _ = store.Name }\n",
		"internal/providers/c/c.go":         "package c\n",
		"internal/providers/d/d.go":         "package d\n\nimport \"m/internal/helper\"\n\nvar _ = 0\n\nconst _ = len(helper.Name)\n",
		"internal/providers/clean/clean.go": "package clean\n\nimport \"strings\"\n\nvar X = strings.ToUpper(\"x\")\n",
	})
	problems, err := run(dir, nil, []string{"./..."})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"m/internal/providers/a: imports m/internal/store",
		"m/internal/providers/b: depends (indirectly) on m/internal/store",
		"m/internal/providers/c: tests import m/internal/store",
		"m/internal/providers/d: depends (indirectly) on m/internal/store",
	}
	for _, w := range want {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, w+":") }) {
			t.Errorf("no problem %q in:\n%s", w, strings.Join(problems, "\n"))
		}
	}
	if len(problems) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(problems), len(want), strings.Join(problems, "\n"))
	}
}

func TestInternalNeverImportsCmd(t *testing.T) {
	t.Parallel()
	dir := writeModule(t, map[string]string{
		"cmd/app/flags/flags.go": "package flags\n\nconst Name = \"x\"\n",
		"internal/x/x.go":        "package x\n\nimport \"m/cmd/app/flags\"\n\nconst Name = flags.Name\n",
	})
	problems, err := run(dir, nil, []string{"./..."})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.HasPrefix(problems[0], "m/internal/x: imports m/cmd/app/flags:") {
		t.Errorf("problems %q, want m/internal/x importing cmd", problems)
	}
}

func TestSlogErrorKey(t *testing.T) {
	t.Parallel()
	dir := writeModule(t, map[string]string{"l/l.go": `package l

import (
	"context"
	"errors"
	"log/slog"
)

type myErr struct{}

func (*myErr) Error() string { return "mine" }

func Log(ctx context.Context, log *slog.Logger, err error) {
	log.Info("fine", "err", err, "n", 1)
	log.WarnContext(ctx, "fine too", "err", err, "rollback_err", errors.New("x"))
	slog.Error("bad key", "error", err)                 // line 16
	log.With("cause", err).Info("bad with")               // line 17
	log.Info("attr", slog.Any("failure", &myErr{}), "k", 2) // line 18
	log.Info("string", slog.String("error", err.Error())) // line 19
	log.Log(ctx, slog.LevelWarn, "after attr", slog.Int("n", 1), "e", err) // line 20
	var args []any
	log.Info("spread", args...)
}
`})
	problems, err := run(dir, nil, []string{"./..."})
	if err != nil {
		t.Fatal(err)
	}
	wantLines := []string{"l.go:16:", "l.go:17:", "l.go:18:", "l.go:19:", "l.go:20:"}
	if len(problems) != len(wantLines) {
		t.Fatalf("got %d problems, want %d:\n%s", len(problems), len(wantLines), strings.Join(problems, "\n"))
	}
	for i, w := range wantLines {
		if !strings.Contains(problems[i], w) {
			t.Errorf("problem %d = %q, want one at %s", i, problems[i], w)
		}
	}
}

// A job, a command or observe importing pgx itself works with the database
// outside the store; one that reaches pgx only through the store, or only in
// its tests, is fine, and so is testdb.
func TestQueriesOnlyInTheStore(t *testing.T) {
	t.Parallel()
	dir := writeModule(t, map[string]string{
		"pgx/go.mod":                 "module github.com/jackc/pgx/v5\n\ngo 1.26\n",
		"pgx/pgx.go":                 "package pgx\n\nconst Name = \"pgx\"\n",
		"internal/store/store.go":    "package store\n\nimport \"github.com/jackc/pgx/v5\"\n\nconst Name = pgx.Name\n",
		"internal/jobs/good.go":      "package jobs\n\nimport \"m/internal/store\"\n\nconst Name = store.Name\n",
		"internal/jobs/good_test.go": "package jobs\n\nimport (\n\t\"testing\"\n\n\t\"github.com/jackc/pgx/v5\"\n)\n\nfunc TestX(t *testing.T) { _ = pgx.Name }\n",
		"internal/transfer/bad.go":   "package transfer\n\nimport \"github.com/jackc/pgx/v5\"\n\nconst Name = pgx.Name\n",
		"internal/observe/bad.go":    "package observe\n\nimport \"github.com/jackc/pgx/v5/pgxpool\"\n\nconst Name = pgxpool.Name\n",
		"cmd/syncer/main.go":         "package main\n\nimport \"github.com/jackc/pgx/v5\"\n\nfunc main() { _ = pgx.Name }\n",
		"internal/testdb/testdb.go":  "package testdb\n\nimport \"github.com/jackc/pgx/v5\"\n\nconst Name = pgx.Name\n",
		"pgx/pgxpool/pgxpool.go":     "package pgxpool\n\nconst Name = \"pgxpool\"\n",
	})
	mod := filepath.Join(dir, "go.mod")
	if err := os.WriteFile(mod, []byte("module m\n\ngo 1.26\n\nrequire github.com/jackc/pgx/v5 v5.0.0\n\nreplace github.com/jackc/pgx/v5 => ./pgx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	problems, err := run(dir, nil, []string{"./..."})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"m/cmd/syncer: imports github.com/jackc/pgx/v5:",
		"m/internal/observe: imports github.com/jackc/pgx/v5/pgxpool:",
		"m/internal/transfer: imports github.com/jackc/pgx/v5:",
	}
	if len(problems) != len(want) {
		t.Fatalf("problems %q, want cmd, observe and transfer importing pgx", problems)
	}
	for i, w := range want {
		if !strings.HasPrefix(problems[i], w) {
			t.Errorf("problem %d = %q, want %s...", i, problems[i], w)
		}
	}
}
