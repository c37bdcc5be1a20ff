package admin

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// openAPI is the API's description, served at /api/openapi.json.
//
//go:embed openapi.json
var openAPI []byte

// pageNames are the templates, each parsed with layout.html.
var pageNames = []string{"error", "dashboard", "list", "form", "confirm", "import", "settings", "locked", "logins", "events", "why"}

type pages struct{ t map[string]*template.Template }

var funcs = template.FuncMap{
	"when": when,
	"cut":  cut,
	"join": strings.Join,
	"list": func(s ...string) []string { return s },
}

func loadPages() (*pages, error) {
	p := &pages{t: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("admin: template %s: %w", name, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// view is what the layout needs, with the page's own data in Data.
type view struct {
	Title    string
	Base     string
	Actor    string
	ReadOnly bool
	Nav      []navLink
	Flash    string
	Data     any
}

type navLink struct {
	Href, Text string
	Current    bool
}

// nav is the navigation, links relative to the mount point.
func nav(c *call) []navLink {
	cur := c.r.URL.Path
	links := []navLink{{Href: c.base, Text: "Dashboard", Current: cur == "/"}}
	for _, k := range kindList {
		s := k.spec()
		links = append(links, navLink{Href: c.base + "rules/" + s.Slug, Text: s.Title, Current: strings.HasPrefix(cur, "/rules/"+s.Slug)})
	}
	for _, l := range []struct{ p, t string }{{"settings", "Settings"}, {"locked", "Locked accounts"}, {"logins", "Login history"}, {"events", "Event log"}, {"why", "Why?"}} {
		links = append(links, navLink{Href: c.base + l.p, Text: l.t, Current: cur == "/"+l.p})
	}
	return links
}

// render writes the page name with data, in the layout.
func (s *server) render(c *call, status int, name, title string, data any) {
	v := view{Title: title, Base: c.base, Actor: c.actor, ReadOnly: c.readOnly, Nav: nav(c), Flash: flash(c.r.URL.Query()), Data: data}
	var buf bytes.Buffer
	if err := s.pages.t[name].Execute(&buf, v); err != nil {
		s.cfg.log.Error("warden admin: render", "page", name, "error", err)
		http.Error(c.w, "the page could not be rendered; the server log says why", http.StatusInternalServerError)
		return
	}
	c.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	c.w.WriteHeader(status)
	_, _ = c.w.Write(buf.Bytes())
}

// flash is the message of a redirect after a write, from fixed texts: a
// link cannot make the admin show words of its choosing beyond a key.
func flash(q url.Values) string {
	n, _ := strconv.Atoi(q.Get("n"))
	key := cut(q.Get("key"), 100)
	switch q.Get("ok") {
	case "created":
		return "Added " + key + "."
	case "updated":
		return "Saved " + key + "."
	case "deleted":
		return "Deleted " + key + "."
	case "activated", "deactivated":
		return "Rule " + key + " " + q.Get("ok") + "."
	case "bulk":
		return fmt.Sprintf("%d rules changed.", n)
	case "imported":
		return fmt.Sprintf("Imported %d rows.", n)
	case "saved":
		return "Settings saved."
	case "unlocked":
		return fmt.Sprintf("Unlocked: %d lockout records released.", n)
	}
	return ""
}

// redirect answers a form post with 303 to a link relative to the
// mount point (http.Redirect would resolve it against the stripped path).
func redirect(c *call, rel string, q url.Values) {
	if len(q) > 0 {
		rel += "?" + q.Encode()
	}
	c.w.Header().Set("Location", c.base+rel)
	c.w.WriteHeader(http.StatusSeeOther)
}

// withBack is the list position a form came from (its "back" field: the
// list's parameters) with the pairs kv set.
func withBack(c *call, kv ...string) url.Values {
	q, err := url.ParseQuery(c.r.PostFormValue("back"))
	if err != nil {
		q = url.Values{}
	}
	q.Del("ok")
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q
}

// when is a time as the pages show it, in UTC.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// relative is an expiry as "in 3 h", "in 12 min", "in 2 d" or "expired".
func relative(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := t.Sub(now)
	switch {
	case d < 0:
		return "expired"
	case d < time.Hour:
		return fmt.Sprintf("in %d min", max(int(d/time.Minute), 1))
	case d < 48*time.Hour:
		return fmt.Sprintf("in %d h", int(d/time.Hour))
	}
	return fmt.Sprintf("in %d d", int(d/(24*time.Hour)))
}

func openAPIDoc(s *server, c *call) {
	c.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = c.w.Write(openAPI)
}

// serveStatic serves the embedded CSS, script and icon. ServeHTTP serves
// them before authorising; this route answers the names that are not
// there (404, to a signed-in user only).
func serveStatic(s *server, c *call) {
	ct, b, ok := staticFile(c.r.PathValue("file"))
	if !ok {
		s.fail(c, errf(http.StatusNotFound, "no such file: %s", c.r.PathValue("file")))
		return
	}
	writeStatic(c.w, ct, b)
}

// staticFile is the embedded file name and its type, if there is one.
func staticFile(name string) (contentType string, b []byte, ok bool) {
	types := map[string]string{"admin.css": "text/css; charset=utf-8", "admin.js": "text/javascript; charset=utf-8", "favicon.svg": "image/svg+xml"}
	contentType, ok = types[name]
	if !ok {
		return "", nil, false
	}
	b, err := staticFS.ReadFile("static/" + name)
	return contentType, b, err == nil
}

func writeStatic(w http.ResponseWriter, contentType string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(b)
}
