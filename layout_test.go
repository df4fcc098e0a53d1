package throughcare

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type goPackage struct {
	ImportPath  string
	Dir         string
	GoFiles     []string
	Doc         string
	Deps        []string
	Imports     []string
	TestImports []string
	Name        string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.Contains(p.ImportPath, "/gen/") {
			continue // generated
		}
		if p.Doc == "" {
			t.Errorf("package %s has no doc comment saying what it owns", p.ImportPath)
		}
	}
}

func TestSharedCodeNeverImportsServer(t *testing.T) {
	const server = "github.com/throughcare/throughcare/server"
	for _, p := range listPackages(t) {
		if !strings.Contains(p.ImportPath, "/syncproto") && !strings.Contains(p.ImportPath, "/client-sdk") {
			continue
		}
		for _, d := range p.Deps {
			if d == server || strings.HasPrefix(d, server+"/") {
				t.Errorf("%s depends on %s: shared code must not import the server", p.ImportPath, d)
			}
		}
	}
}

// TestOnlyTheStoresImportBadger: on the server only server/store touches
// Badger; on the device only the SDK's store, client-sdk/caseload/internal/local.
func TestOnlyTheStoresImportBadger(t *testing.T) {
	for _, p := range listPackages(t) {
		switch p.ImportPath {
		case "github.com/throughcare/throughcare/server/store", "github.com/throughcare/throughcare/client-sdk/caseload/internal/local":
			continue
		}
		for _, d := range append(p.Imports, p.TestImports...) {
			if strings.HasPrefix(d, "github.com/dgraph-io/badger") {
				t.Errorf("%s imports Badger; only server/store and client-sdk/caseload/internal/local may", p.ImportPath)
			}
		}
	}
}

// TestDomainPackagesNeverImportTheRoot: server (the composition root)
// imports the domain packages, never the other way round; only the binary,
// servertest and the tests build on it.
func TestDomainPackagesNeverImportTheRoot(t *testing.T) {
	const root = "github.com/throughcare/throughcare/server"
	for _, p := range listPackages(t) {
		if p.ImportPath == root || p.ImportPath == root+"/servertest" || !strings.HasPrefix(p.ImportPath, root+"/") {
			continue
		}
		for _, d := range p.Deps {
			if d == root {
				t.Errorf("%s depends on the composition root %s", p.ImportPath, root)
			}
		}
	}
}

// TestOnlyTheAdaptersImportConnect: the domain packages know nothing of
// Connect or HTTP. On the server only the API adapter (server/api) and the
// test server built on it speak Connect; in the shared code only the
// generated stubs and the compressions both sides register (zstdwire,
// colzstd).
// Clients (the SDK, the CLI, the soak tool) do.
func TestOnlyTheAdaptersImportConnect(t *testing.T) {
	const mod = "github.com/throughcare/throughcare/"
	allowed := []string{"server/api", "server/servertest", "syncproto/gen/", "syncproto/zstdwire", "syncproto/colzstd", "client-sdk/", "cmd/", "e2e"}
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(p.ImportPath, mod)
		if slices.ContainsFunc(allowed, func(a string) bool {
			return rel == a || strings.HasPrefix(rel, a+"/") || strings.HasSuffix(a, "/") && strings.HasPrefix(rel, a)
		}) {
			continue
		}
		for _, d := range p.Imports {
			if d == "connectrpc.com/connect" || strings.HasPrefix(d, "connectrpc.com/") {
				t.Errorf("%s imports %s; only the API adapter and clients may speak Connect", p.ImportPath, d)
			}
		}
	}
}

// TestNoPackageLogsThroughAGlobal: loggers are passed in (a zerolog.Logger
// in each Config), never taken from a global: not zerolog's global logger,
// not the standard library's (its log.New, writing into a zerolog.Logger
// for http.Server.ErrorLog, is fine).
func TestNoPackageLogsThroughAGlobal(t *testing.T) {
	globals := map[string]bool{"Print": true, "Printf": true, "Println": true, "Fatal": true, "Fatalf": true, "Fatalln": true,
		"Panic": true, "Panicf": true, "Panicln": true, "SetOutput": true, "SetFlags": true, "SetPrefix": true, "Default": true, "Writer": true}
	for _, p := range listPackages(t) {
		for _, d := range p.Imports {
			if d == "github.com/rs/zerolog/log" {
				t.Errorf("%s imports %s, zerolog's global logger; take a zerolog.Logger in its config", p.ImportPath, d)
			}
		}
		if !slices.Contains(p.Imports, "log") {
			continue
		}
		for _, name := range p.GoFiles {
			path := filepath.Join(p.Dir, name)
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			local := ""
			for _, im := range f.Imports {
				if im.Path.Value == `"log"` {
					local = "log"
					if im.Name != nil {
						local = im.Name.Name
					}
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == local && globals[sel.Sel.Name] {
						t.Errorf("%s uses the standard library's global logger (%s.%s); take a zerolog.Logger in its config", path, local, sel.Sel.Name)
					}
				}
				return true
			})
		}
	}
}
