package passkey

import (
	"go/build"
	"strings"
	"testing"
)

// An app that only needs the Authenticator interface must not link the
// software authenticator's virtualwebauthn: this walks the package's
// non-test imports, transitively, and fails if any is virtualwebauthn.
func TestPasskeyDoesNotLinkVirtualWebAuthn(t *testing.T) {
	const root = "github.com/throughcare/throughcare/client-sdk/passkey"
	seen := map[string]string{root: ""} // import path -> who imported it
	queue := []string{root}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		if strings.Contains(path, "virtualwebauthn") {
			t.Fatalf("%s imports %s (via %s)", root, path, seen[path])
		}
		pkg, err := build.Import(path, ".", 0)
		if err != nil {
			t.Fatalf("import %s: %v", path, err)
		}
		if pkg.Goroot {
			continue
		}
		for _, imp := range pkg.Imports {
			if _, ok := seen[imp]; !ok && imp != "C" {
				seen[imp] = path
				queue = append(queue, imp)
			}
		}
	}
}
