package admin

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"

	"github.com/wardenkit/warden/core"
)

// The writes, shared by the HTML pages and the JSON API: each validates
// through core, writes through eng.Rules() and records one ADMIN_ACTION
// event naming the actor, the rule and the change.

// record queues the ADMIN_ACTION event of a write.
func (s *server) record(c *call, ruleID int64, format string, args ...any) {
	ev := core.Event{
		Action:    core.ActionAdmin,
		RuleID:    ruleID,
		Details:   fmt.Sprintf(format, args...) + " (by " + c.actor + " via admin)",
		Path:      c.r.URL.Path,
		Method:    c.r.Method,
		UserAgent: c.r.UserAgent(),
	}
	if host, _, err := net.SplitHostPort(c.r.RemoteAddr); err == nil {
		ev.IP = host
	}
	if !s.eng.RecordEvent(ev) {
		s.cfg.log.Warn("warden admin: the event queue is full; ADMIN_ACTION not recorded", "details", ev.Details)
	}
}

// keyField is the name of the kind's first key field, for errors.
func keyField(spec *kindSpec) string {
	for _, f := range spec.Fields {
		if f.Key {
			return f.Name
		}
	}
	return "key"
}

// create adds a rule; a rule with the same key is refused (edit it instead).
func (s *server) create(c *call, k kindOps, it item) (item, error) {
	ctx, spec := c.r.Context(), k.spec()
	if spec.CreatedBy {
		fieldOf(it.v, spec.idx, "created_by").SetString(c.actor)
	}
	n, err := k.normalize(it)
	if err != nil {
		return item{}, err
	}
	if old, err := k.get(ctx, s.eng.Rules(), n.Key); err == nil {
		return item{}, fieldErr(spec.Type, keyField(spec), n.Key, fmt.Sprintf("already exists as id %d: edit that rule instead", old.ID))
	} else if !errors.Is(err, core.ErrNotFound) {
		return item{}, err
	}
	got, err := k.put(ctx, s.eng.Rules(), n)
	if err != nil {
		return item{}, err
	}
	s.record(c, got.ID, "add %s %s (id %d)", spec.Singular, got.Key, got.ID)
	return got, nil
}

// update writes it over old; the key cannot change.
func (s *server) update(c *call, k kindOps, old, it item) (item, error) {
	spec := k.spec()
	n, err := k.normalize(it)
	if err != nil {
		return item{}, err
	}
	if n.Key != old.Key {
		return item{}, fieldErr(spec.Type, keyField(spec), n.Key, "the key of a rule cannot change: add a new rule and delete this one")
	}
	got, err := k.put(c.r.Context(), s.eng.Rules(), n)
	if err != nil {
		return item{}, err
	}
	changed := changedFields(spec, old, got)
	if len(changed) == 0 {
		changed = []string{"nothing"}
	}
	s.record(c, got.ID, "update %s %s (id %d): %s", spec.Singular, got.Key, got.ID, strings.Join(changed, ", "))
	return got, nil
}

// setActive activates or deactivates a rule.
func (s *server) setActive(c *call, k kindOps, old item, on bool) (item, error) {
	it := old
	it.v = reflect.New(old.v.Type()).Elem()
	it.v.Set(old.v)
	fieldOf(it.v, k.spec().idx, "disabled").SetBool(!on)
	got, err := k.put(c.r.Context(), s.eng.Rules(), it)
	if err != nil {
		return item{}, err
	}
	verb := map[bool]string{true: "activate", false: "deactivate"}[on]
	s.record(c, got.ID, "%s %s %s (id %d)", verb, k.spec().Singular, got.Key, got.ID)
	return got, nil
}

// remove deletes a rule.
func (s *server) remove(c *call, k kindOps, old item) error {
	if err := k.remove(c.r.Context(), s.eng.Rules(), old); err != nil {
		return err
	}
	s.record(c, old.ID, "delete %s %s (id %d)", k.spec().Singular, old.Key, old.ID)
	return nil
}

// bulk applies action (activate, deactivate, delete) to every ID; an ID
// that fails is reported and the others go on.
func (s *server) bulk(c *call, k kindOps, action string, ids []int64) (done int, failed []string, err error) {
	if action != "activate" && action != "deactivate" && action != "delete" {
		return 0, nil, errf(http.StatusBadRequest, "bad action %q: want activate, deactivate or delete", action)
	}
	if len(ids) == 0 {
		return 0, nil, errf(http.StatusBadRequest, "no rule selected")
	}
	if len(ids) > maxLimit {
		return 0, nil, errf(http.StatusBadRequest, "too many rules at once: at most %d", maxLimit)
	}
	for _, id := range ids {
		it, err := k.byID(c.r.Context(), s.eng.Rules(), id)
		if err == nil {
			if action == "delete" {
				err = s.remove(c, k, it)
			} else {
				_, err = s.setActive(c, k, it, action == "activate")
			}
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("id %d: %s", id, s.asHTTP(err).Msg))
			continue
		}
		done++
	}
	return done, failed, nil
}

// changedFields names the form fields whose value differs.
func changedFields(spec *kindSpec, a, b item) []string {
	var out []string
	for _, f := range spec.Fields {
		if f.Key || f.Name == "force" {
			continue
		}
		x, y := formValue(fieldOf(a.v, spec.idx, f.Name), f), formValue(fieldOf(b.v, spec.idx, f.Name), f)
		if x != y {
			out = append(out, fmt.Sprintf("%s %q -> %q", f.Name, cut(x, 60), cut(y, 60)))
		}
	}
	return out
}

// cut shortens s to n runes, marking the cut.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
