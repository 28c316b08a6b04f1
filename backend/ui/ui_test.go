package ui

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gin-gonic/gin"
)

const testManifest = `{
  "index.html": {
    "file": "assets/index-AbC123.js",
    "name": "index",
    "src": "index.html",
    "isEntry": true,
    "imports": ["_vendor-Xy9.js"],
    "css": ["assets/index-Def456.css"]
  },
  "_vendor-Xy9.js": {
    "file": "assets/vendor-Xy9.js",
    "name": "vendor",
    "css": ["assets/vendor-Css789.css"]
  }
}`

func fakeDist() fstest.MapFS {
	return fstest.MapFS{
		".keep":                    {Data: nil},
		".vite/manifest.json":      {Data: []byte(testManifest)},
		"index.html":               {Data: []byte("<!doctype html><title>vite</title>")},
		"favicon.svg":              {Data: []byte("<svg xmlns='http://www.w3.org/2000/svg'/>")},
		"assets/index-AbC123.js":   {Data: []byte("console.log('app')")},
		"assets/index-Def456.css":  {Data: []byte("body{margin:0}")},
		"assets/vendor-Xy9.js":     {Data: []byte("export const v = 1")},
		"assets/vendor-Css789.css": {Data: []byte(".x{}")},
	}
}

func newHandler(t *testing.T, dist fs.FS) *Handler {
	t.Helper()
	h, err := New(dist)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

func do(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestShellHasAssetTagsFromManifest(t *testing.T) {
	h := newHandler(t, fakeDist())
	if !h.Built() {
		t.Fatal("Built() = false with a manifest")
	}
	rec := do(h, http.MethodGet, "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		"<!doctype html>",
		"<title>Switchyard</title>",
		`<script type="module" src="/assets/index-AbC123.js"></script>`,
		`<link rel="stylesheet" href="/assets/index-Def456.css">`,
		`<link rel="stylesheet" href="/assets/vendor-Css789.css">`,
		`<link rel="modulepreload" href="/assets/vendor-Xy9.js">`,
		`<link rel="icon" href="/favicon.svg">`,
		`<div id="root"></div>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("shell lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "vite</title>") {
		t.Error("served Vite's index.html instead of the rendered shell")
	}
	if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("Cache-Control %q", got)
	}
	if string(h.Shell()) != body {
		t.Error("Shell() differs from the served document")
	}
}

func TestShellIsDeterministic(t *testing.T) {
	a := newHandler(t, fakeDist()).Shell()
	b := newHandler(t, fakeDist()).Shell()
	if string(a) != string(b) {
		t.Fatalf("shell differs between renders:\n%s\n---\n%s", a, b)
	}
}

func TestSPAFallback(t *testing.T) {
	h := newHandler(t, fakeDist())
	shell := string(h.Shell())
	for _, tc := range []struct {
		method, path string
	}{
		{http.MethodGet, "/"},
		{http.MethodGet, "/index.html"},
		{http.MethodGet, "/flows"},
		{http.MethodGet, "/flows/orders"},
		{http.MethodGet, "/jobs/j_123?status=running"},
		{http.MethodGet, "/jobs/"},
		{http.MethodGet, "/some/deep/client/route"},
		{http.MethodHead, "/flows/orders"},
	} {
		rec := do(h, tc.method, tc.path)
		if rec.Code != http.StatusOK {
			t.Errorf("%s %s: status %d, want 200", tc.method, tc.path, rec.Code)
			continue
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s %s: Cache-Control %q, want no-cache", tc.method, tc.path, got)
		}
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, rec.Header().Get("Content-Type"))
		}
		if tc.method == http.MethodHead {
			if rec.Body.Len() != 0 {
				t.Errorf("HEAD %s: body of %d bytes", tc.path, rec.Body.Len())
			}
		} else if rec.Body.String() != shell {
			t.Errorf("%s %s: body is not the shell", tc.method, tc.path)
		}
	}
}

func TestNoFallbackForFilesOrOtherMethods(t *testing.T) {
	h := newHandler(t, fakeDist())
	for _, tc := range []struct {
		method, path string
	}{
		{http.MethodGet, "/assets/missing-123.js"},
		{http.MethodGet, "/nope.png"},
		{http.MethodGet, "/flows/orders.json"},
		{http.MethodGet, "/.keep"},
		{http.MethodGet, "/.vite/manifest.json"},
		{http.MethodPost, "/flows"},
		{http.MethodDelete, "/jobs/j_1"},
		{http.MethodPut, "/"},
	} {
		rec := do(h, tc.method, tc.path)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s %s: status %d, want 404", tc.method, tc.path, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "<html") {
			t.Errorf("%s %s: served HTML", tc.method, tc.path)
		}
	}
}

func TestAPIPathsNeverGetHTML(t *testing.T) {
	h := newHandler(t, fakeDist())
	for _, tc := range []struct {
		method, path string
	}{
		{http.MethodGet, "/api"},
		{http.MethodGet, "/api/"},
		{http.MethodGet, "/api/unknown"},
		{http.MethodGet, "/api/jobs/j_1/nothing"},
		{http.MethodPost, "/api/whatever"},
		{http.MethodGet, "/api/app.js"},
	} {
		rec := do(h, tc.method, tc.path)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s %s: status %d, want 404", tc.method, tc.path, rec.Code)
		}
		if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
			t.Errorf("%s %s: Content-Type %q, want JSON", tc.method, tc.path, got)
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != "NOT_FOUND" || body.Error.Message == "" {
			t.Errorf("%s %s: body %q (err %v)", tc.method, tc.path, rec.Body.String(), err)
		}
	}
	// /apix is not under /api.
	if rec := do(h, http.MethodGet, "/apix"); rec.Code != http.StatusOK {
		t.Errorf("/apix: status %d, want the shell", rec.Code)
	}
}

func TestAssetCacheHeaders(t *testing.T) {
	h := newHandler(t, fakeDist())

	rec := do(h, http.MethodGet, "/assets/index-AbC123.js")
	if rec.Code != http.StatusOK {
		t.Fatalf("asset: status %d", rec.Code)
	}
	if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("asset Cache-Control %q", got)
	}
	if got := rec.Header().Get("Content-Type"); !strings.Contains(got, "javascript") {
		t.Errorf("asset Content-Type %q", got)
	}
	if rec.Body.String() != "console.log('app')" {
		t.Errorf("asset body %q", rec.Body.String())
	}

	rec = do(h, http.MethodGet, "/assets/index-Def456.css")
	if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/css") {
		t.Errorf("css Content-Type %q", got)
	}

	rec = do(h, http.MethodGet, "/favicon.svg")
	if rec.Code != http.StatusOK {
		t.Fatalf("favicon: status %d", rec.Code)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("favicon Cache-Control %q, want no-cache", got)
	}
	tag := rec.Header().Get("ETag")
	if tag == "" {
		t.Fatal("favicon has no ETag")
	}
	rec = do(h, http.MethodGet, "/favicon.svg", "If-None-Match", tag)
	if rec.Code != http.StatusNotModified {
		t.Errorf("revalidation: status %d, want 304", rec.Code)
	}

	rec = do(h, http.MethodHead, "/assets/index-AbC123.js")
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD asset: status %d, body %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestShellRevalidates(t *testing.T) {
	h := newHandler(t, fakeDist())
	tag := do(h, http.MethodGet, "/flows").Header().Get("ETag")
	if tag == "" {
		t.Fatal("shell has no ETag")
	}
	if rec := do(h, http.MethodGet, "/jobs", "If-None-Match", tag); rec.Code != http.StatusNotModified {
		t.Errorf("status %d, want 304", rec.Code)
	}
}

func TestNotBuilt(t *testing.T) {
	for name, dist := range map[string]fs.FS{
		"empty":     fstest.MapFS{},
		"only keep": fstest.MapFS{".keep": {}},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHandler(t, dist)
			if h.Built() {
				t.Fatal("Built() = true without a manifest")
			}
			rec := do(h, http.MethodGet, "/flows")
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			body := rec.Body.String()
			if !strings.Contains(body, "not built") || !strings.Contains(body, "make build") {
				t.Errorf("shell does not say the UI is not built:\n%s", body)
			}
			if strings.Contains(body, "<script") {
				t.Errorf("not-built shell has a script tag:\n%s", body)
			}
			if rec := do(h, http.MethodGet, "/assets/index.js"); rec.Code != http.StatusNotFound {
				t.Errorf("asset: status %d, want 404", rec.Code)
			}
		})
	}
}

func TestBadManifest(t *testing.T) {
	for name, manifest := range map[string]string{
		"not json":        "{",
		"no entry":        `{"other.html": {"file": "assets/o.js"}}`,
		"entry sans file": `{"index.html": {"src": "index.html"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(fstest.MapFS{".vite/manifest.json": {Data: []byte(manifest)}})
			if err == nil {
				t.Fatal("New accepted a broken manifest")
			}
		})
	}
}

func TestRegisterOnGin(t *testing.T) {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.GET("/api/health", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	newHandler(t, fakeDist()).Register(r)

	if rec := do(r, http.MethodGet, "/api/health"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "ok") {
		t.Errorf("API route: %d %q", rec.Code, rec.Body.String())
	}
	if rec := do(r, http.MethodGet, "/jobs/j_1"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "/assets/index-AbC123.js") {
		t.Errorf("SPA route: %d", rec.Code)
	}
	if rec := do(r, http.MethodGet, "/assets/index-AbC123.js"); rec.Code != http.StatusOK ||
		rec.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Errorf("asset: %d %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	rec := do(r, http.MethodGet, "/api/nope")
	if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "<html") {
		t.Errorf("unknown API path: %d %q", rec.Code, rec.Body.String())
	}
	if rec := do(r, http.MethodGet, "/missing.css"); rec.Code != http.StatusNotFound {
		t.Errorf("missing file: %d", rec.Code)
	}
}

func TestEmbeddedDistLoads(t *testing.T) {
	// Whatever the state of web/dist (built or only .keep), the embedded
	// tree must give a working handler.
	h, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	if rec := do(h, http.MethodGet, "/flows"); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
}

func TestPrecompressedAssets(t *testing.T) {
	dist := fakeDist()
	dist["assets/index-AbC123.js.br"] = &fstest.MapFile{Data: []byte("BROTLI")}
	dist["assets/index-AbC123.js.gz"] = &fstest.MapFile{Data: []byte("GZIP")}
	h, err := New(dist)
	if err != nil {
		t.Fatal(err)
	}
	for accept, want := range map[string]string{
		"gzip, deflate, br":    "br",
		"gzip;q=1.0, br;q=0":   "gzip",
		"gzip":                 "gzip",
		"*":                    "br",
		"identity":             "",
		"":                     "",
		"br;q=0.000, gzip;q=0": "",
	} {
		req := httptest.NewRequest(http.MethodGet, "/assets/index-AbC123.js", nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := map[string]string{"br": "BROTLI", "gzip": "GZIP", "": "console.log('app')"}[want]
		if rec.Code != 200 || rec.Header().Get("Content-Encoding") != want || rec.Body.String() != body {
			t.Errorf("Accept-Encoding %q: %d %q %q", accept, rec.Code, rec.Header().Get("Content-Encoding"), rec.Body.String())
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
			t.Errorf("Accept-Encoding %q: Content-Type %q", accept, ct)
		}
		if rec.Header().Get("Vary") != "Accept-Encoding" || rec.Header().Get("Cache-Control") != cacheImmutable {
			t.Errorf("Accept-Encoding %q: headers %v", accept, rec.Header())
		}
	}
	// A file without variants is served as it is, with no Vary.
	req := httptest.NewRequest(http.MethodGet, "/assets/vendor-Xy9.js", nil)
	req.Header.Set("Accept-Encoding", "br")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Header().Get("Content-Encoding") != "" || rec.Header().Get("Vary") != "" {
		t.Errorf("plain file: %v", rec.Header())
	}
}
