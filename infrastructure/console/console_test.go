package console

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestHandlerServesTheFilesUnderCSP: the page and its files answer with the strict
// policy and their own content types; anything else goes on to the API.
func TestHandlerServesTheFilesUnderCSP(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := Handler(next)
	for path, want := range map[string]string{
		"/console":             "text/html; charset=utf-8",
		"/console/":            "text/html; charset=utf-8",
		"/console/console.js":  "text/javascript; charset=utf-8",
		"/console/console.css": "text/css; charset=utf-8",
	} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != want || rec.Header().Get("Content-Security-Policy") != CSP {
				t.Errorf("%s %s: %d %q, CSP %q", method, path, rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Content-Security-Policy"))
			}
			if method == http.MethodHead && rec.Body.Len() != 0 {
				t.Errorf("HEAD %s has a body", path)
			}
		}
	}
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/console/missing.js", nil),
		httptest.NewRequest(http.MethodGet, "/console/static/index.html", nil),
		httptest.NewRequest(http.MethodGet, "/console/.hidden", nil),
		httptest.NewRequest(http.MethodGet, "/consoles", nil),
		httptest.NewRequest(http.MethodPost, "/console", nil),
		httptest.NewRequest(http.MethodGet, "/orders", nil),
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusTeapot {
			t.Errorf("%s %s: %d, want it passed on to the API", req.Method, req.URL.Path, rec.Code)
		}
	}
}

// TestNoInlineCodeOrMarkupFromData: the files obey their own policy (no inline script
// or style, nothing from another origin), and the JavaScript never parses strings as
// markup, so API data cannot become markup.
func TestNoInlineCodeOrMarkupFromData(t *testing.T) {
	inline := regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|style=|\son[a-z]+=|javascript:|https?://`)
	markup := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function`)
	err := fs.WalkDir(static, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".html") && inline.Match(b) {
			t.Errorf("%s: inline code, style or another origin: %q", path, inline.Find(b))
		}
		if strings.HasSuffix(path, ".js") && markup.Match(b) {
			t.Errorf("%s: parses a string as markup or code: %q", path, markup.Find(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
