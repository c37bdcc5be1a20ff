package app

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"html/template"
	"net/http"
)

//go:embed templates/*.html
var templateFS embed.FS

var pageTmpl = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// DemoUser is the example's one account.
const DemoUser = "demo"

// Pages are the example's login and sign-up pages: plain HTML forms, the
// same for every framework. The frameworks' handlers call them after
// warden's login guard and e-mail check.
type Pages struct {
	password string // the demo account's
}

// NewPages returns the pages with the demo account's password (a random
// one when empty).
func NewPages(password string) *Pages {
	if password == "" {
		password = rand.Text()[:12]
	}
	return &Pages{password: password}
}

// Password is the demo account's password.
func (p *Pages) Password() string { return p.password }

// Verify reports whether user and password are the demo account's.
func (p *Pages) Verify(user, password string) bool {
	u := subtle.ConstantTimeCompare([]byte(user), []byte(DemoUser))
	w := subtle.ConstantTimeCompare([]byte(password), []byte(p.password))
	return u&w == 1
}

type pageData struct {
	Title, Form, Message, Value string
}

func render(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pageTmpl.ExecuteTemplate(w, "page", d)
}

// LoginForm writes the sign-in form, with a message and the username typed.
func (p *Pages) LoginForm(w http.ResponseWriter, status int, message, username string) {
	render(w, status, pageData{Title: "Sign in", Form: "login", Message: message, Value: username})
}

// SignupForm writes the sign-up form, with a message and the address typed.
func (p *Pages) SignupForm(w http.ResponseWriter, status int, message, email string) {
	render(w, status, pageData{Title: "Sign up", Form: "signup", Message: message, Value: email})
}

// Welcome writes the page after a successful sign-in or sign-up.
func (p *Pages) Welcome(w http.ResponseWriter, message string) {
	render(w, http.StatusOK, pageData{Title: "Welcome", Message: message})
}
