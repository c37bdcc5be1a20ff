package admin

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/wardenkit/warden/core"
)

// server is the admin handler. It is safe for concurrent use.
type server struct {
	eng   *core.Engine
	cfg   config
	mux   *http.ServeMux
	csrf  *http.CrossOriginProtection
	pages *pages
	dash  dashCache
}

// call is one authorised request on its way through a handler.
type call struct {
	w        http.ResponseWriter
	r        *http.Request
	actor    string
	readOnly bool
	base     string // relative link to the mount point: "./", "../", …
	api      bool   // under /api/: answers are JSON
}

// route is one registered pattern; routes lists them for the OpenAPI check.
type route struct {
	method, path string
	h            func(*server, *call)
}

func newServer(eng *core.Engine, c config) (*server, error) {
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &server{eng: eng, cfg: c, mux: http.NewServeMux(), csrf: http.NewCrossOriginProtection(), pages: p}
	for _, rt := range routes() {
		h := rt.h
		s.mux.HandleFunc(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) {
			h(s, callFrom(r))
		})
	}
	return s, nil
}

// securityHeaders are sent with every answer, errors and files included.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
	"X-Content-Type-Options":  "nosniff",
	"Cache-Control":           "no-store",
	"Referrer-Policy":         "same-origin",
	"X-Frame-Options":         "DENY",
}

// ServeHTTP authorises the request, refuses cross-origin writes and writes
// by the read-only role, then routes it.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range securityHeaders {
		w.Header().Set(k, v)
	}
	if r.URL.Path == "" { // mounted at "/admin" and asked for "/admin": go to "/admin/"
		loc := path.Base(originalPath(r)) + "/"
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	if name, ok := strings.CutPrefix(r.URL.Path, "/static/"); ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// The style sheet, script and icon are public (fixed, embedded,
		// no data): the signed-out 401 page needs them too.
		if ct, b, ok := staticFile(name); ok {
			writeStatic(w, ct, b)
			return
		}
	}
	c := &call{w: w, r: r, base: baseOf(r.URL.Path), api: strings.HasPrefix(r.URL.Path, "/api/")}
	actor, ok := s.cfg.authorize(r)
	if !ok {
		if s.cfg.challenge != "" {
			w.Header().Set("WWW-Authenticate", s.cfg.challenge)
		}
		s.fail(c, errf(http.StatusUnauthorized, "sign in to use the warden admin"))
		return
	}
	c.actor = actor
	c.readOnly = s.cfg.readOnly != nil && s.cfg.readOnly(r)
	if err := s.csrf.Check(r); err != nil {
		s.fail(c, errf(http.StatusForbidden, "cross-origin request refused: submit the form from the admin's own pages"))
		return
	}
	if c.readOnly && r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.fail(c, errf(http.StatusForbidden, "your role is read-only: %s %s is a change", r.Method, r.URL.Path))
		return
	}
	if cleaned := path.Clean(r.URL.Path); cleaned != r.URL.Path && cleaned+"/" != r.URL.Path {
		s.fail(c, errf(http.StatusNotFound, "no such page: %s", r.URL.Path))
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.fail(c, errf(http.StatusNotFound, "no such page: %s %s", r.Method, r.URL.Path))
		return
	}
	s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callKey{}, c)))
}

type callKey struct{}

// callFrom is the call ServeHTTP put in r's context, with r (which holds
// the path values the mux matched).
func callFrom(r *http.Request) *call {
	c := r.Context().Value(callKey{}).(*call)
	c.r = r
	return c
}

// baseOf is the relative link from p (the path below the mount point) back
// to the mount point, so that links work under any prefix: "/" and "/x"
// give "./", "/a/b" gives "../".
func baseOf(p string) string {
	n := strings.Count(p, "/") - 1
	if n <= 0 {
		return "./"
	}
	return strings.Repeat("../", n)
}

// originalPath is the path the client asked for, before any prefix was
// stripped.
func originalPath(r *http.Request) string {
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
		return u.Path
	}
	return "/"
}
