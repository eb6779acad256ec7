// Command houselint checks the house rules that staticcheck does not know:
// which of the module's packages may depend on which (data flows provider ->
// job -> store, and nothing inside internal reaches up into cmd), and that a
// log/slog line names an error "err", so one query finds every failure.
//
//	go run ./scripts/houselint [go list build flags, e.g. -race] [packages]
//
// make lint passes -race, so go list reuses what go vet -race compiled.
// It needs only the standard library and `go list`, so it costs no download
// and little build time; it prints one line per problem and exits 1 if any.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// importRule: packages under From (module-relative) must not depend, directly
// or through another package, on anything under one of Deny.
type importRule struct {
	From string
	Deny []string
	Why  string
}

var importRules = []importRule{
	{From: "internal/providers", Deny: []string{"internal/store", "internal/jobs"}, Why: "a provider knows nothing of Postgres or jobs"},
	{From: "internal/store", Deny: []string{"internal/providers", "internal/jobs", "internal/transfer", "internal/tracked"},
		Why: "the store knows nothing of HTTP, jobs or what the jobs do"},
	{From: "internal/transfer", Deny: []string{"internal/jobs", "internal/tracked"}, Why: "money movement is used by jobs and the CLI, never the reverse"},
	{From: "internal/tracked", Deny: []string{"internal/jobs", "internal/transfer"}, Why: "tracked checks are used by jobs and the CLI, never the reverse"},
	{From: "internal", Deny: []string{"cmd"}, Why: "cmd wires the internal packages, never the reverse"},
}

// queryRule: the module's packages, except those under Allow
// (module-relative), must not themselves import Deny (full import paths) in
// their non-test files. Depending on it through the store is the point;
// naming it means a query, a pgx error or a pgx type outside the store. An
// allow-list, not a deny-list, so a new package (cmd, observe, the next
// one) is covered without anyone remembering to add it.
type queryRule struct {
	Allow []string
	Deny  []string
	Why   string
}

var queryRules = []queryRule{
	{Allow: []string{"internal/store", "internal/testdb"},
		Deny: []string{"github.com/jackc/pgx"}, Why: "queries live in internal/store only: use a *store.DB method"},
}

// pkg is what houselint reads of `go list -json`.
type pkg struct {
	ImportPath   string
	Dir          string
	GoFiles      []string
	Imports      []string
	Deps         []string
	TestImports  []string
	XTestImports []string
	Export       string
	Standard     bool
	DepOnly      bool
	Module       *struct{ Path string }
}

func main() {
	var flags, patterns []string
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
		} else {
			patterns = append(patterns, a)
		}
	}
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	problems, err := run(".", flags, patterns)
	if err != nil {
		fmt.Fprintln(os.Stderr, "houselint:", err)
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

// run lists patterns in dir (with go list build flags) and returns every
// broken rule, sorted.
func run(dir string, flags, patterns []string) ([]string, error) {
	pkgs, err := list(dir, flags, patterns)
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, p := range pkgs {
		if p.DepOnly || p.Standard || p.Module == nil {
			continue
		}
		problems = append(problems, checkImports(p.Module.Path, p)...)
		problems = append(problems, checkQueries(p.Module.Path, p)...)
		ps, err := checkSlogKeys(p, pkgs)
		if err != nil {
			return nil, err
		}
		problems = append(problems, ps...)
	}
	sort.Strings(problems)
	return problems, nil
}

// relative shortens an absolute file name to one relative to the working
// directory, for readable output.
func relative(name string) string {
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, name); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return name
}

// list runs go list with -export, so each dependency's export data is at hand
// for type-checking; go vet has usually compiled them into the cache already.
func list(dir string, flags, patterns []string) (map[string]*pkg, error) {
	args := append([]string{"list", "-e", "-deps", "-export",
		"-json=ImportPath,Dir,GoFiles,Imports,Deps,TestImports,XTestImports,Export,Standard,DepOnly,Module,Error"}, flags...)
	args = append(args, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v: %s", err, stderr.Bytes())
	}
	pkgs := map[string]*pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			pkg
			Error *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("package %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs[p.ImportPath] = &p.pkg
	}
	return pkgs, nil
}

// under reports whether path is prefix or inside it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// checkImports applies importRules to p's dependencies (all of them, so a
// detour through a third package does not hide a broken rule) and to its
// tests' direct imports.
func checkImports(module string, p *pkg) []string {
	var problems []string
	for _, r := range importRules {
		if !under(p.ImportPath, module+"/"+r.From) {
			continue
		}
		direct := map[string]bool{}
		for _, imp := range p.Imports {
			direct[imp] = true
		}
		report := func(dep, how string) {
			for _, d := range r.Deny {
				if under(dep, module+"/"+d) {
					problems = append(problems, fmt.Sprintf("%s: %s %s: %s", p.ImportPath, how, dep, r.Why))
				}
			}
		}
		for _, dep := range p.Deps {
			how := "depends (indirectly) on"
			if direct[dep] {
				how = "imports"
			}
			report(dep, how)
		}
		for _, dep := range append(append([]string{}, p.TestImports...), p.XTestImports...) {
			report(dep, "tests import")
		}
	}
	return problems
}

// checkQueries applies queryRules to p's own (non-test) imports.
func checkQueries(module string, p *pkg) []string {
	var problems []string
	for _, r := range queryRules {
		if slices.ContainsFunc(r.Allow, func(f string) bool { return under(p.ImportPath, module+"/"+f) }) {
			continue
		}
		for _, imp := range p.Imports {
			for _, d := range r.Deny {
				if strings.HasPrefix(imp, d) { // any major version and subpackage
					problems = append(problems, fmt.Sprintf("%s: imports %s: %s", p.ImportPath, imp, r.Why))
				}
			}
		}
	}
	return problems
}

// checkSlogKeys type-checks p's (non-test) files and reports each log/slog
// key-value pair whose value is an error and whose key is not "err" (or
// "<something>_err" for a second error on one line), and any key "error".
func checkSlogKeys(p *pkg, pkgs map[string]*pkg) ([]string, error) {
	if len(p.GoFiles) == 0 {
		return nil, nil
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	lookup := func(path string) (io.ReadCloser, error) {
		dep, ok := pkgs[path]
		if !ok || dep.Export == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(dep.Export)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "gc", lookup)}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}}
	if _, err := conf.Check(p.ImportPath, fset, files, info); err != nil {
		return nil, fmt.Errorf("type-check %s: %w", p.ImportPath, err)
	}
	return slogKeyProblems(fset, files, info), nil
}

var errorType = types.Universe.Lookup("error").Type().Underlying().(*types.Interface)

func slogKeyProblems(fset *token.FileSet, files []*ast.File, info *types.Info) []string {
	var problems []string
	check := func(key, value ast.Expr) {
		tv, ok := info.Types[key]
		if !ok || tv.Value == nil || tv.Value.Kind() != constant.String {
			return // a computed key: nothing to say
		}
		k := constant.StringVal(tv.Value)
		vt := info.Types[value].Type
		isErr := vt != nil && types.Implements(vt, errorType)
		switch {
		case k == "error":
			problems = append(problems, fmt.Sprintf(`%s: slog key "error": the house key for an error is "err"`, position(fset, key)))
		case isErr && k != "err" && !strings.HasSuffix(k, "_err"):
			problems = append(problems, fmt.Sprintf(`%s: slog key %q holds an error: use "err" (or "<what>_err" for a second one)`, position(fset, key), k))
		}
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			fn := calledSlogFunc(call, info)
			if fn == nil {
				return true
			}
			sig := fn.Type().(*types.Signature)
			params := sig.Params()
			// Attr constructors: slog.Any(key, value), slog.String(key, value), ...
			if !sig.Variadic() && params.Len() == 2 && params.At(0).Name() == "key" && len(call.Args) == 2 {
				check(call.Args[0], call.Args[1])
				return true
			}
			// Key-value lists: Info(msg, args ...any), Logger.With(args ...any), Group(key, args ...any).
			if !sig.Variadic() || params.At(params.Len()-1).Name() != "args" || call.Ellipsis.IsValid() {
				return true
			}
			args := call.Args[params.Len()-1:]
			for i := 0; i < len(args); {
				if t := info.Types[args[i]].Type; t != nil && isSlogAttr(t) {
					i++ // checked as its own call
					continue
				}
				if i+1 < len(args) {
					check(args[i], args[i+1])
				}
				i += 2
			}
			return true
		})
	}
	return problems
}

func position(fset *token.FileSet, n ast.Node) string {
	p := fset.Position(n.Pos())
	return fmt.Sprintf("%s:%d:%d", relative(p.Filename), p.Line, p.Column)
}

// calledSlogFunc is the log/slog function or method call calls, or nil.
func calledSlogFunc(call *ast.CallExpr, info *types.Info) *types.Func {
	var id *ast.Ident
	switch fun := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		id = fun
	case *ast.SelectorExpr:
		id = fun.Sel
	default:
		return nil
	}
	fn, ok := info.Uses[id].(*types.Func)
	if !ok || fn.Pkg() == nil || fn.Pkg().Path() != "log/slog" {
		return nil
	}
	return fn
}

func isSlogAttr(t types.Type) bool {
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "log/slog" && n.Obj().Name() == "Attr"
}
