package admin

import (
	"fmt"
	"net/http"
	"strconv"
)

// activeHTML is the inline activate/deactivate button of a list row.
func activeHTML(s *server, c *call) {
	k, it, err := s.itemOfCall(c)
	if err == nil {
		err = parseForm(c)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	on := c.r.PostFormValue("active") == "yes"
	if _, err := s.setActive(c, k, it, on); err != nil {
		s.fail(c, err)
		return
	}
	verb := map[bool]string{true: "activated", false: "deactivated"}[on]
	redirect(c, "rules/"+k.spec().Slug, withBack(c, "ok", verb, "key", it.Key))
}

type confirmData struct {
	Spec   *kindSpec
	Action string // the form's target, relative to the mount point
	Verb   string
	Items  []item
	Back   string
	Cancel string
}

// deleteAskHTML asks before deleting (a form, so it works without script).
func deleteAskHTML(s *server, c *call) {
	k, it, err := s.itemOfCall(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	spec := k.spec()
	d := confirmData{Spec: spec, Action: fmt.Sprintf("rules/%s/%d/delete", spec.Slug, it.ID), Verb: "delete", Items: []item{it}, Back: c.r.URL.Query().Get("back")}
	d.Cancel = listHref(c, spec, d.Back)
	s.render(c, http.StatusOK, "confirm", "Delete "+spec.Singular+" "+it.Key+"?", d)
}

func deleteHTML(s *server, c *call) {
	k, it, err := s.itemOfCall(c)
	if err == nil {
		err = parseForm(c)
	}
	if err == nil {
		err = s.remove(c, k, it)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	redirect(c, "rules/"+k.spec().Slug, withBack(c, "ok", "deleted", "key", it.Key))
}

// bulkHTML applies the action chosen for the rows ticked; delete asks
// first.
func bulkHTML(s *server, c *call) {
	k, err := kindOf(c)
	if err == nil {
		err = parseForm(c)
	}
	var ids []int64
	if err == nil {
		ids, err = formIDs(c.r.PostForm["id"])
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	spec, action := k.spec(), c.r.PostFormValue("action")
	if action == "delete" && c.r.PostFormValue("confirm") != "yes" && len(ids) > 0 {
		d := confirmData{Spec: spec, Action: "rules/" + spec.Slug + "/bulk", Verb: "delete", Back: c.r.PostFormValue("back")}
		d.Cancel = listHref(c, spec, d.Back)
		for _, id := range ids {
			if it, err := k.byID(c.r.Context(), s.eng.Rules(), id); err == nil {
				d.Items = append(d.Items, it)
			}
		}
		s.render(c, http.StatusOK, "confirm", fmt.Sprintf("Delete %d %s?", len(d.Items), spec.Title), d)
		return
	}
	done, failed, err := s.bulk(c, k, action, ids)
	if err != nil {
		s.fail(c, err)
		return
	}
	if len(failed) > 0 {
		s.fail(c, errf(http.StatusConflict, "%d changed; these failed: %s", done, joinCut(failed)))
		return
	}
	redirect(c, "rules/"+spec.Slug, withBack(c, "ok", "bulk", "n", strconv.Itoa(done)))
}

// formIDs parses the ticked IDs.
func formIDs(raw []string) ([]int64, error) {
	ids := make([]int64, 0, len(raw))
	for _, s := range raw {
		id, err := parseID(s, "id")
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// joinCut joins at most ten messages.
func joinCut(msgs []string) string {
	if len(msgs) > 10 {
		msgs = append(msgs[:10:10], fmt.Sprintf("and %d more", len(msgs)-10))
	}
	out := ""
	for i, m := range msgs {
		if i > 0 {
			out += "; "
		}
		out += m
	}
	return out
}
