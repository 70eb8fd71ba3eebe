// Package console serves the staff console: static HTML, CSS and JavaScript embedded in
// the binary, which run in the browser and read everything through the public API with
// the bearer token the user pastes. The files hold no data and need no token, so they
// are served outside the API (no authentication, no contract validation), under a
// Content-Security-Policy strict enough that a payload rendered by mistake as markup
// still could not run script or send data anywhere but this origin.
package console

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// Prefix is the path the console is served under; /console itself is its page.
const Prefix = "/console"

// CSP allows only this origin's own files and API: no inline script or style (the
// console has none), no plugins, forms, frames or base-URI tricks.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the console's files on GET and HEAD of /console, /console/ (the page)
// and /console/<file>; every other request goes to next (the API, which answers an
// unknown path or method with its problem document).
func Handler(next http.Handler) http.Handler {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded directory is there: go:embed fails the build otherwise
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := fileName(r.URL.Path)
		if !ok || r.Method != http.MethodGet && r.Method != http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		body, err := fs.ReadFile(files, name)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache") // a new binary's files are fetched again
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body) //nolint:gosec // an embedded file, which the path only chooses by name: no request data is in it
	})
}

// fileName maps a request path to a file of static: the page for /console and
// /console/, a file directly under it otherwise. Anything else (subdirectories, dot
// files, other paths) is not the console's.
func fileName(p string) (string, bool) {
	if p == Prefix || p == Prefix+"/" {
		return "index.html", true
	}
	name, ok := strings.CutPrefix(p, Prefix+"/")
	if !ok || name == "" || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return "", false
	}
	return name, true
}
