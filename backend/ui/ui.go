// Package ui serves the single-page web UI built by Vite into web/dist and
// compiled into the binary.
//
// The HTML shell is rendered by a templ component from the Vite manifest
// (.vite/manifest.json, entry "index.html"), so the hashed asset names come
// from the build itself. Caching follows the usual SPA policy: the shell is
// "no-cache", hashed files under /assets/ are immutable for a year, other
// files (favicon, …) are revalidated. Extension-less GET/HEAD paths outside
// /api get the shell (client-side routes); every other unknown path is a 404.
// Paths under /api are never answered with HTML.
//
// The build compresses its files ahead of time (web/compress.mjs writes
// name.br and name.gz beside them); a request whose Accept-Encoding takes
// brotli or gzip gets those bytes, so nothing is compressed per request.
package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchyard/switchyard"
	"github.com/switchyard/switchyard/backend/apierr"
)

const (
	// Title is the document title of the shell.
	Title = "Switchyard"

	// ManifestPath is where Vite writes its manifest (build.manifest: true).
	ManifestPath = ".vite/manifest.json"
	// EntryName is the manifest key of the application entry.
	EntryName = "index.html"

	cacheShell      = "no-cache"
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// Handler serves the UI. It is an http.Handler; Register mounts it on Gin.
type Handler struct {
	dist     fs.FS
	shell    []byte
	shellTag string
	built    bool
	etags    map[string]string // file name → quoted ETag, filled once by New
}

// entryAssets are the URLs the shell references.
type entryAssets struct {
	Script  string   // the entry module; empty when the UI is not built
	CSS     []string // stylesheets of the entry and of the chunks it imports
	Preload []string // statically imported chunks, for <link rel="modulepreload">
	Icon    string   // /favicon.svg or /favicon.ico when the build has one
}

// manifestChunk is one entry of Vite's manifest.
type manifestChunk struct {
	File    string   `json:"file"`
	Src     string   `json:"src"`
	IsEntry bool     `json:"isEntry"`
	CSS     []string `json:"css"`
	Imports []string `json:"imports"`
}

// Dist returns the web/dist tree compiled into the binary.
func Dist() (fs.FS, error) {
	return fs.Sub(switchyard.WebDist, "web/dist")
}

// Default is New over the embedded build.
func Default() (*Handler, error) {
	dist, err := Dist()
	if err != nil {
		return nil, fmt.Errorf("ui: embedded dist: %w", err)
	}
	return New(dist)
}

// New prepares a Handler over dist, the root of a Vite build (the directory
// holding index.html, assets/ and .vite/manifest.json). Without a manifest the
// handler still works and its shell says the UI is not built; a manifest that
// cannot be read or lacks the entry is an error.
func New(dist fs.FS) (*Handler, error) {
	h := &Handler{dist: dist, etags: map[string]string{}}

	assets, built, err := readAssets(dist)
	if err != nil {
		return nil, err
	}
	h.built = built

	// Embedded files never change: hash them once for ETags.
	err = fs.WalkDir(dist, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || hidden(p) {
			return err
		}
		b, err := fs.ReadFile(dist, p)
		if err != nil {
			return err
		}
		h.etags[p] = etag(b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui: read dist: %w", err)
	}

	var buf bytes.Buffer
	if err := shellPage(Title, assets).Render(context.Background(), &buf); err != nil {
		return nil, fmt.Errorf("ui: render shell: %w", err)
	}
	h.shell = buf.Bytes()
	h.shellTag = etag(h.shell)
	return h, nil
}

// Built reports whether the dist held a Vite build (false: the "not built" shell is served).
func (h *Handler) Built() bool { return h.built }

// Shell returns the rendered HTML document served for client-side routes.
func (h *Handler) Shell() []byte { return bytes.Clone(h.shell) }

func readAssets(dist fs.FS) (entryAssets, bool, error) {
	raw, err := fs.ReadFile(dist, ManifestPath)
	if errors.Is(err, fs.ErrNotExist) {
		return entryAssets{}, false, nil
	}
	if err != nil {
		return entryAssets{}, false, fmt.Errorf("ui: read %s: %w", ManifestPath, err)
	}
	var manifest map[string]manifestChunk
	if err := json.Unmarshal(raw, &manifest); err != nil {
		return entryAssets{}, false, fmt.Errorf("ui: parse %s: %w", ManifestPath, err)
	}
	entry, ok := manifest[EntryName]
	if !ok || entry.File == "" {
		return entryAssets{}, false, fmt.Errorf("ui: %s has no %q entry", ManifestPath, EntryName)
	}

	a := entryAssets{Script: "/" + entry.File}
	seenCSS := map[string]bool{}
	addCSS := func(files []string) {
		for _, f := range files {
			if !seenCSS[f] {
				seenCSS[f] = true
				a.CSS = append(a.CSS, "/"+f)
			}
		}
	}
	addCSS(entry.CSS)

	// Walk the static imports depth-first, in manifest order, as Vite's
	// backend-integration guide describes: preload each chunk, link its CSS.
	visited := map[string]bool{EntryName: true}
	var walk func(keys []string)
	walk = func(keys []string) {
		for _, k := range keys {
			if visited[k] {
				continue
			}
			visited[k] = true
			c, ok := manifest[k]
			if !ok {
				continue
			}
			if c.File != "" {
				a.Preload = append(a.Preload, "/"+c.File)
			}
			addCSS(c.CSS)
			walk(c.Imports)
		}
	}
	walk(entry.Imports)

	for _, icon := range []string{"favicon.svg", "favicon.ico"} {
		if st, err := fs.Stat(dist, icon); err == nil && !st.IsDir() {
			a.Icon = "/" + icon
			break
		}
	}
	return a, true, nil
}

// Register mounts the handler as Gin's NoRoute handler, so every path that no
// API route matched comes here. Paths under /api get the API's JSON 404.
func (h *Handler) Register(r *gin.Engine) {
	r.NoRoute(gin.WrapH(h))
}

// IsAPIPath reports whether p is /api or below it.
func IsAPIPath(p string) bool {
	return p == "/api" || strings.HasPrefix(p, "/api/")
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	if IsAPIPath(path.Clean(p)) || IsAPIPath(p) {
		apiNotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// Only reads are served; anything else matched no route at all.
		http.NotFound(w, r)
		return
	}

	clean := path.Clean(p)
	if clean == "/" || clean == "/index.html" {
		h.serveShell(w, r)
		return
	}
	name := strings.TrimPrefix(clean, "/")
	base := path.Base(clean)
	if path.Ext(base) == "" {
		// A client-side route such as /flows/orders or /jobs/j_1.
		h.serveShell(w, r)
		return
	}
	if hidden(name) {
		http.NotFound(w, r)
		return
	}
	h.serveFile(w, r, name)
}

// hidden reports paths that are part of the build but not of the site:
// dotfiles (.keep) and dot-directories (.vite/manifest.json).
func hidden(name string) bool {
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}

func (h *Handler) serveShell(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", cacheShell)
	hd.Set("ETag", h.shellTag)
	hd.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(h.shell))
}

// encodings are the precompressed variants of the build, best first.
var encodings = []struct{ token, suffix string }{{"br", ".br"}, {"gzip", ".gz"}}

// precompressed returns the variant of name to serve for the request, if
// the client accepts one that the build has.
func (h *Handler) precompressed(r *http.Request, name string) (file, encoding string, variants bool) {
	accepted := acceptedEncodings(r.Header.Get("Accept-Encoding"))
	for _, e := range encodings {
		if _, ok := h.etags[name+e.suffix]; !ok {
			continue
		}
		variants = true
		if accepted[e.token] {
			return name + e.suffix, e.token, true
		}
	}
	return name, "", variants
}

// acceptedEncodings parses Accept-Encoding: the codings with a non-zero q
// ("*" stands for any).
func acceptedEncodings(header string) map[string]bool {
	out := map[string]bool{}
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding == "" {
			continue
		}
		if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok && strings.Trim(q, "0.") == "" {
			continue // q=0: not acceptable
		}
		out[coding] = true
	}
	if out["*"] {
		for _, e := range encodings {
			out[e.token] = true
		}
	}
	return out
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	if !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	file, encoding, variants := h.precompressed(r, name)
	f, err := h.dist.Open(file)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	body, ok := f.(io.ReadSeeker)
	if !ok {
		// Not seekable (some fs.FS implementations): read it whole.
		b, err := io.ReadAll(f)
		if err != nil {
			http.Error(w, "cannot read file", http.StatusInternalServerError)
			return
		}
		body = bytes.NewReader(b)
	}

	hd := w.Header()
	if variants {
		hd.Add("Vary", "Accept-Encoding")
	}
	if encoding != "" {
		hd.Set("Content-Encoding", encoding)
	}
	if strings.HasPrefix(name, "assets/") {
		// Vite puts a content hash in every name under assets/.
		hd.Set("Cache-Control", cacheImmutable)
	} else {
		hd.Set("Cache-Control", cacheRevalidate)
	}
	if tag := h.etags[file]; tag != "" {
		hd.Set("ETag", tag)
	}
	hd.Set("X-Content-Type-Options", "nosniff")
	// The type comes from the name asked for, not from the .br or .gz file.
	http.ServeContent(w, r, name, st.ModTime(), body)
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// apiNotFound answers an unknown /api path in the API's error format.
func apiNotFound(w http.ResponseWriter, r *http.Request) {
	apierr.Write(w, r, apierr.NotFound, fmt.Sprintf("no API endpoint %s %s", r.Method, r.URL.Path))
}
