package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wardenkit/warden/core"
)

// maxLocked is how many lockouts the page lists.
const maxLocked = 500

type lockedRow struct {
	core.LockoutRecord
	Pair  string // the unlock form's value: the record's username and address
	Until string
}

type lockedData struct {
	Rows     []lockedRow
	CanWrite bool
	Max      int
}

// pairOf is the username and address an unlock of r names, as a form value.
func pairOf(r core.LockoutRecord) string {
	v := url.Values{}
	if r.Username != "" {
		v.Set("u", r.Username)
	}
	if r.IP != "" {
		v.Set("ip", r.IP)
	}
	return v.Encode()
}

func lockedHTML(s *server, c *call) {
	recs, err := s.eng.Lockout().ListLocked(c.r.Context(), maxLocked)
	if err != nil {
		s.fail(c, err)
		return
	}
	d := lockedData{CanWrite: !c.readOnly, Max: maxLocked}
	for _, r := range recs {
		until := "until unlocked"
		if !r.Until.IsZero() {
			until = relative(r.Until, s.cfg.clock.Now()) + " (" + when(r.Until) + ")"
		}
		d.Rows = append(d.Rows, lockedRow{LockoutRecord: r, Pair: pairOf(r), Until: until})
	}
	s.render(c, http.StatusOK, "locked", "Locked accounts", d)
}

// unlock releases each pair once (duplicates dropped) and records one
// ADMIN_ACTION event per pair; a pair that fails is reported.
func (s *server) unlock(c *call, reqs []core.UnlockRequest) (released int, failed []string, err error) {
	if len(reqs) == 0 {
		return 0, nil, errf(http.StatusBadRequest, "nothing to unlock: name a username, an address, or both")
	}
	if len(reqs) > maxLocked {
		return 0, nil, errf(http.StatusBadRequest, "too many at once: at most %d", maxLocked)
	}
	seen := map[core.UnlockRequest]bool{}
	for _, r := range reqs {
		r.Username, r.IP, r.By = strings.TrimSpace(r.Username), strings.TrimSpace(r.IP), c.actor
		if r.Username == "" && r.IP == "" {
			return released, failed, errf(http.StatusBadRequest, "nothing to unlock: name a username, an address, or both")
		}
		if seen[r] {
			continue
		}
		seen[r] = true
		n, err := s.eng.Lockout().Unlock(c.r.Context(), r)
		what := strings.TrimSpace(fmt.Sprintf("%s %s", nameOr("user", r.Username), nameOr("ip", r.IP)))
		if err != nil {
			failed = append(failed, what+": "+s.asHTTP(err).Msg)
			continue
		}
		released += n
		s.record(c, 0, "unlock %s (%d lockout records released)", what, n)
	}
	return released, failed, nil
}

func nameOr(label, v string) string {
	if v == "" {
		return ""
	}
	return label + " " + strconv.Quote(v)
}

func unlockHTML(s *server, c *call) {
	if err := parseForm(c); err != nil {
		s.fail(c, err)
		return
	}
	var reqs []core.UnlockRequest
	for _, p := range c.r.PostForm["pair"] {
		v, err := url.ParseQuery(p)
		if err != nil {
			s.fail(c, errf(http.StatusBadRequest, "bad pair %q", p))
			return
		}
		reqs = append(reqs, core.UnlockRequest{Username: v.Get("u"), IP: v.Get("ip")})
	}
	if u, ip := c.r.PostFormValue("username"), c.r.PostFormValue("ip"); u != "" || ip != "" {
		reqs = append(reqs, core.UnlockRequest{Username: u, IP: ip})
	}
	n, failed, err := s.unlock(c, reqs)
	if err == nil && len(failed) > 0 {
		err = errf(http.StatusConflict, "%d lockout records released; these failed: %s", n, joinCut(failed))
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	redirect(c, "locked", url.Values{"ok": {"unlocked"}, "n": {strconv.Itoa(n)}})
}

func lockedAPI(s *server, c *call) {
	recs, err := s.eng.Lockout().ListLocked(c.r.Context(), maxLocked)
	if err != nil {
		s.fail(c, err)
		return
	}
	if recs == nil {
		recs = []core.LockoutRecord{}
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"locked": recs})
}

type unlockJSON struct {
	Username string       `json:"username"`
	IP       string       `json:"ip"`
	Pairs    []unlockJSON `json:"pairs"`
}

func unlockAPI(s *server, c *call) {
	body, err := readBody(c)
	var req unlockJSON
	if err == nil {
		err = decodeStrict(body, &req, "unlock")
	}
	var reqs []core.UnlockRequest
	if req.Username != "" || req.IP != "" {
		reqs = append(reqs, core.UnlockRequest{Username: req.Username, IP: req.IP})
	}
	for _, p := range req.Pairs {
		reqs = append(reqs, core.UnlockRequest{Username: p.Username, IP: p.IP})
	}
	var n int
	var failed []string
	if err == nil {
		n, failed, err = s.unlock(c, reqs)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	status := http.StatusOK
	if len(failed) > 0 {
		status = http.StatusConflict
	}
	writeJSON(c.w, status, map[string]any{"released": n, "failed": append([]string{}, failed...)})
}
