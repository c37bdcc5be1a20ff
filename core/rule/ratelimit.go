package rule

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/wardenkit/warden/core/ratelimit"
)

// RateLimitRule limits requests to a path. PathPattern is an exact path or a
// prefix ending in "*", matched against the route template the framework
// reports and, when the template has a wildcard or there is none, against
// the cleaned request path; a pattern that no cleaned path can equal
// ("/login/", "/a/../login") is refused. A rule for one method does not
// cover other methods the same route accepts (a Gin Any route answers them
// all): add a rule per method, or use ALL.
type RateLimitRule struct {
	Meta
	Name        string `json:"name"`
	PathPattern string `json:"path_pattern"`     // exact path, or a prefix ending in "*"
	Method      string `json:"method,omitempty"` // ALL (default) or one method
	Rate        string `json:"rate"`             // N/s, N/m, N/h or N/d
	Burst       int    `json:"burst,omitempty"`  // 0 means N
	KeyBy       string `json:"key_by,omitempty"` // ip (default), user, user_or_ip, header:NAME
	Disabled    bool   `json:"disabled,omitempty"`
	HitCount    int64  `json:"hit_count,omitempty"`
	ReportOnly  bool   `json:"report_only,omitempty"`
}

var methods = map[string]bool{"ALL": true, "GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

// Key is "METHOD /path", the natural key a store upserts on.
func (r RateLimitRule) Key() string { return r.Method + " " + r.PathPattern }

// IsActive reports whether the rule is enforced (not disabled).
func (r RateLimitRule) IsActive() bool { return !r.Disabled }

// Validate reports the first field that is wrong, as a *ValidationError.
func (r RateLimitRule) Validate() error { return r.normalize() }
func (r *RateLimitRule) normalize() error {
	const t = "RateLimitRule"
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" {
		return invalid(t, "name", r.Name, "must not be empty")
	}
	if err := CheckText(t, "name", r.Name, MaxNameLen); err != nil {
		return err
	}
	if !strings.HasPrefix(r.PathPattern, "/") {
		return invalid(t, "path_pattern", r.PathPattern, "must start with /")
	}
	if i := strings.IndexByte(r.PathPattern, '*'); i >= 0 && i != len(r.PathPattern)-1 {
		return invalid(t, "path_pattern", r.PathPattern, "* is only allowed at the end")
	}
	if err := CheckText(t, "path_pattern", r.PathPattern, MaxPathLen); err != nil {
		return err
	}
	if clean := cleanPattern(r.PathPattern); clean != r.PathPattern {
		return invalid(t, "path_pattern", r.PathPattern,
			fmt.Sprintf("never matches: request paths are cleaned before matching; use %q", clean))
	}
	r.Method = strings.ToUpper(strings.TrimSpace(r.Method))
	if r.Method == "" {
		r.Method = "ALL"
	}
	if !methods[r.Method] {
		return invalid(t, "method", r.Method, "must be ALL, GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS")
	}
	r.Rate = strings.TrimSpace(r.Rate)
	if _, err := r.Limit(); err != nil {
		if _, perr := ratelimit.Parse(r.Rate); perr != nil {
			return invalid(t, "rate", r.Rate, "want N/s, N/m, N/h or N/d (optionally ;burst=B)")
		}
		return invalid(t, "burst", strconv.Itoa(r.Burst), err.Error())
	}
	switch {
	case r.KeyBy == "":
		r.KeyBy = "ip"
	case r.KeyBy == "ip", r.KeyBy == "user", r.KeyBy == "user_or_ip":
	case strings.HasPrefix(r.KeyBy, "header:") && len(r.KeyBy) <= 100:
		if !validHeaderName(strings.TrimPrefix(r.KeyBy, "header:")) {
			return invalid(t, "key_by", r.KeyBy, "header name must be a non-empty HTTP token (letters, digits and !#$%&'*+-.^_`|~)")
		}
	default:
		return invalid(t, "key_by", r.KeyBy, "must be ip, user, user_or_ip or header:NAME")
	}
	if r.HitCount < 0 {
		return invalid(t, "hit_count", strconv.FormatInt(r.HitCount, 10), "must not be negative")
	}
	return nil
}

// Limit is the rule's rate as a ratelimit.Limit; a non-zero Burst field
// overrides a burst written in Rate.
func (r RateLimitRule) Limit() (ratelimit.Limit, error) {
	l, err := ratelimit.Parse(r.Rate)
	if err != nil {
		return l, err
	}
	if r.Burst < 0 {
		return l, fmt.Errorf("must not be negative")
	}
	if r.Burst > 0 {
		l.Burst = int64(r.Burst)
	}
	if err := l.Validate(); err != nil {
		return l, err
	}
	return l, nil
}

// cleanPattern is the pattern as a cleaned request path would be written:
// path.Clean of the part before a trailing "*", keeping a slash that ends a
// prefix ("/api/*").
func cleanPattern(p string) string {
	prefix := strings.HasSuffix(p, "*")
	base := strings.TrimSuffix(p, "*")
	slash := prefix && strings.HasSuffix(base, "/")
	c := path.Clean(base)
	if slash && c != "/" {
		c += "/"
	}
	if prefix {
		c += "*"
	}
	return c
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
