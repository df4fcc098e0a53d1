// Package console serves the supervisors' web console: a few static files
// (HTML, CSS and plain JavaScript modules, no build step) embedded in the
// binary. The console talks to the same Connect API as the tablets, with
// Connect's JSON protocol and a bearer token, so it needs nothing from the
// server but these files.
//
// The page is served at "/" and must not be cached without revalidation;
// every other file lives under "/console/<version>/", where the version is a
// digest of all the files, so browsers may keep them for a year. Every
// response carries a strict Content-Security-Policy: scripts only from this
// origin (the page has no inline script or style), no framing, and Trusted
// Types enforced so no string can become markup.
package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Patterns are the routes the handler serves, for a ServeMux: the page
// itself and the versioned files. (A bare "GET /" would clash with the RPC
// routes, which take every method.)
const (
	IndexPattern  = "GET /{$}"
	AssetsPattern = "GET /console/"
)

// assetPlaceholder in index.html is replaced by the versioned asset prefix.
const assetPlaceholder = "{{ASSETS}}"

// ContentSecurityPolicy is sent with every response. connect-src 'self'
// allows the API calls (and the CSV downloads, fetched then saved from a
// blob: URL, which is a navigation, not a fetch); nothing else is loaded
// from anywhere.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self'; font-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

//go:embed static
var static embed.FS

// file is one servable file, with its gzip form when that is smaller.
type file struct {
	body, gz    []byte
	contentType string
	etag        string
}

type site struct {
	version string
	index   *file
	assets  map[string]*file // by path under the version
}

var load = sync.OnceValue(func() *site {
	s, err := newSite(static)
	if err != nil {
		panic("console: " + err.Error()) // the embedded files are fixed at build time
	}
	return s
})

// Handler returns the console's handler; mount it on [IndexPattern] and
// [AssetsPattern].
func Handler() http.Handler {
	s := load()
	return http.HandlerFunc(s.serve)
}

// Version is the digest naming the current files ("/console/<Version>/").
func Version() string { return load().version }

func newSite(fsys fs.FS) (*site, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	raw := map[string][]byte{}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		raw[p] = b
		sum.Write([]byte(p))
		sum.Write([]byte{0})
		sum.Write(b)
		sum.Write([]byte{0})
		return nil
	})
	if err != nil {
		return nil, err
	}
	s := &site{version: hex.EncodeToString(sum.Sum(nil))[:12], assets: map[string]*file{}}
	for p, b := range raw {
		if p == "index.html" {
			b = bytes.ReplaceAll(b, []byte(assetPlaceholder), []byte("/console/"+s.version))
			s.index = newFile(p, b)
			continue
		}
		s.assets[p] = newFile(p, b)
	}
	if s.index == nil {
		return nil, fs.ErrNotExist
	}
	return s, nil
}

func newFile(name string, body []byte) *file {
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) { // do not depend on the host's mime tables
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	sum := sha256.Sum256(body)
	f := &file{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
	if _, err := zw.Write(body); err == nil && zw.Close() == nil && buf.Len() < len(body) {
		f.gz = buf.Bytes() // writing to memory does not fail; if it did, serve the file plain
	}
	return f
}

func (s *site) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), "+
		"publickey-credentials-create=(self), publickey-credentials-get=(self)")

	if r.URL.Path == "/" {
		// The page names the current asset version: always revalidate it.
		h.Set("Cache-Control", "no-cache")
		s.index.write(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/console/"+s.version+"/")
	f := s.assets[rest]
	if !ok || f == nil {
		// An old version's file (or none at all): the page is stale or
		// the path is wrong. Never cache the miss.
		h.Set("Cache-Control", "no-store")
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	f.write(w, r)
}

func (f *file) write(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Add("Vary", "Accept-Encoding")
	body, etag := f.body, f.etag
	if f.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body, etag = f.gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
	}
	h.Set("ETag", etag)
	// ServeContent answers If-None-Match (304), HEAD and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		q, hasQ := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if v, err := strconv.ParseFloat(q, 64); hasQ && err == nil && v == 0 {
			return false
		}
		return true
	}
	return false
}
