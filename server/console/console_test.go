package console

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

// newMux mounts the console as the server does, beside a catch-all RPC
// route like Connect's, so pattern conflicts panic here first.
func newMux(t *testing.T) *http.ServeMux {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/throughcare.v1.SyncService/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	mux.Handle(IndexPattern, Handler())
	mux.Handle(AssetsPattern, Handler())
	return mux
}

func get(t *testing.T, h http.Handler, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestIndex(t *testing.T) {
	mux := newMux(t)
	rec := get(t, mux, "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d, want 200", rec.Code)
	}
	for k, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-cache",
		"Content-Security-Policy": ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("GET / %s = %q, want %q", k, got, want)
		}
	}
	body := rec.Body.String()
	if strings.Contains(body, assetPlaceholder) {
		t.Error("the page still holds the asset placeholder")
	}
	if !strings.Contains(body, `src="/console/`+Version()+`/js/app.js"`) {
		t.Errorf("the page does not load the versioned app.js:\n%s", body)
	}
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on the page")
	}
	if rec := get(t, mux, "/", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("GET / with its ETag = %d, want 304", rec.Code)
	}
	// Query strings name views; the page is the same.
	if rec := get(t, mux, "/?view=stats"); rec.Code != http.StatusOK {
		t.Errorf("GET /?view=stats = %d, want 200", rec.Code)
	}
	// The RPC routes are not shadowed, for any method.
	if rec := get(t, mux, "/throughcare.v1.SyncService/Pull"); rec.Code != http.StatusTeapot {
		t.Errorf("GET on an RPC path = %d, want the RPC handler", rec.Code)
	}
	if rec := get(t, mux, "/nothing-here"); rec.Code != http.StatusNotFound {
		t.Errorf("GET /nothing-here = %d, want 404", rec.Code)
	}
}

func TestAssets(t *testing.T) {
	mux := newMux(t)
	base := "/console/" + Version()
	cases := []struct{ path, contentType string }{
		{"/js/app.js", "text/javascript; charset=utf-8"},
		{"/console.css", "text/css; charset=utf-8"},
		{"/favicon.svg", "image/svg+xml"},
	}
	for _, tc := range cases {
		rec := get(t, mux, base+tc.path)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", tc.path, rec.Code)
			continue
		}
		if got := rec.Header().Get("Content-Type"); got != tc.contentType {
			t.Errorf("GET %s Content-Type = %q, want %q", tc.path, got, tc.contentType)
		}
		if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s Cache-Control = %q, want a year, immutable", tc.path, got)
		}
		if rec.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s has no CSP", tc.path)
		}
	}

	plain := get(t, mux, base+"/js/api.js").Body.Bytes()
	rec := get(t, mux, base+"/js/api.js", "Accept-Encoding", "br, gzip;q=0.8")
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip for Accept-Encoding gzip;q=0.8")
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, plain) {
		t.Error("the gzip form differs from the file")
	}
	if rec := get(t, mux, base+"/js/api.js", "Accept-Encoding", "gzip;q=0"); rec.Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent although refused (q=0)")
	}

	for _, p := range []string{"/console/0123456789ab/js/app.js", base + "/js/nope.js", base + "/index.html", "/console/"} {
		rec := get(t, mux, p)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, rec.Code)
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s Cache-Control = %q: a miss must not be cached", p, got)
		}
	}
}

// TestNoInlineCode: the CSP allows no inline script or style, and Trusted
// Types forbid building markup from strings; check the files keep to it.
func TestNoInlineCode(t *testing.T) {
	index, err := fs.ReadFile(static, "static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?is)<script\b[^>]*>(.*?)</script>`).FindAllSubmatch(index, -1) {
		if !bytes.Contains(m[0], []byte(`src=`)) || len(bytes.TrimSpace(m[1])) > 0 {
			t.Errorf("inline script in index.html: %s", m[0])
		}
	}
	for _, re := range []string{`(?i)<style\b`, `(?i)\sstyle=`, `(?i)\son[a-z]+=`, `(?i)javascript:`} {
		if loc := regexp.MustCompile(re).Find(index); loc != nil {
			t.Errorf("index.html has %q", loc)
		}
	}
	sinks := regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setAttribute\('style'|setAttribute\("style"`)
	err = fs.WalkDir(static, "static/js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(static, p)
		if m := sinks.Find(b); m != nil {
			t.Errorf("%s uses %s (blocked by the CSP)", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestImportsResolve: every module imports only files that are embedded.
func TestImportsResolve(t *testing.T) {
	imports := regexp.MustCompile(`(?m)(?:^import|^export)[^'"]*from\s+'([^']+)'|import\('([^']+)'\)`)
	files := 0
	err := fs.WalkDir(static, "static/js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, _ := fs.ReadFile(static, p)
		for _, m := range imports.FindAllStringSubmatch(string(b), -1) {
			spec := m[1] + m[2]
			if !strings.HasPrefix(spec, "./") {
				t.Errorf("%s imports %q: only relative imports of our own files", p, spec)
				continue
			}
			if _, err := fs.Stat(static, path.Join(path.Dir(p), spec)); err != nil {
				t.Errorf("%s imports %q, which is not embedded", p, spec)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Fatalf("only %d modules embedded", files)
	}
	index, _ := fs.ReadFile(static, "static/index.html")
	for _, m := range regexp.MustCompile(`\{\{ASSETS\}\}/([^"]+)"`).FindAllSubmatch(index, -1) {
		if _, err := fs.Stat(static, "static/"+string(m[1])); err != nil {
			t.Errorf("index.html refers to %s, which is not embedded", m[1])
		}
	}
}
