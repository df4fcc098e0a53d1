package throughcare

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

type goPackage struct {
	ImportPath  string
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
