package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"time"

	"github.com/wardenkit/warden/core/rule"
)

type listData struct {
	Spec      *kindSpec
	Query     listQuery
	Filters   []filterView
	Rows      []rowView
	Page      listPage
	NextLink  string
	FirstLink string
	Back      string // the list's parameters, for the forms on it to come back to
	CanWrite  bool
}

type filterView struct {
	Name, Label, Value string
	Options            []string
}

type rowView struct {
	ID     int64
	Key    string
	Active bool
	Cells  []cellView
}

type cellView struct {
	Text, Title, Class string
	Toggle             bool
}

func listHTML(s *server, c *call) {
	k, err := kindOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	spec := k.spec()
	q, err := parseListQuery(spec, c.r.URL.Query())
	if err != nil {
		s.fail(c, err)
		return
	}
	p, err := s.list(c.r.Context(), k, q)
	if err != nil {
		s.fail(c, err)
		return
	}
	d := listData{Spec: spec, Query: q, Page: p, CanWrite: !c.readOnly}
	for _, f := range spec.Filters {
		d.Filters = append(d.Filters, filterView{Name: f.Name, Label: f.Label, Value: q.Filters[f.Name], Options: f.Options})
	}
	now := s.cfg.clock.Now()
	for _, it := range p.Items {
		d.Rows = append(d.Rows, rowOf(spec, it, now))
	}
	v := q.values()
	d.FirstLink = c.base + "rules/" + spec.Slug + "?" + v.Encode()
	if q.After > 0 {
		v.Set("after", strconv.FormatInt(q.After, 10))
	}
	d.Back = v.Encode()
	if p.Next > 0 {
		v.Set("after", strconv.FormatInt(p.Next, 10))
		d.NextLink = c.base + "rules/" + spec.Slug + "?" + v.Encode()
	}
	s.render(c, http.StatusOK, "list", spec.Title, d)
}

// rowOf is a row's cells as the list shows them.
func rowOf(spec *kindSpec, it item, now time.Time) rowView {
	r := rowView{ID: it.ID, Key: it.Key, Active: it.Active}
	for _, col := range spec.Columns {
		var cv cellView
		switch {
		case col.Name == "status":
			b := spec.status(it.v, spec.idx, now)
			cv = cellView{Text: b.Text, Class: "badge " + b.Class}
		case col.Show == "toggle":
			cv = cellView{Toggle: true}
		default:
			cv = cellText(fieldOf(it.v, spec.idx, col.Name), col, now)
		}
		r.Cells = append(r.Cells, cv)
	}
	return r
}

func cellText(v reflect.Value, col column, now time.Time) cellView {
	switch x := v.Interface().(type) {
	case time.Time:
		if col.Show == "expires" {
			return cellView{Text: relative(x, now), Title: when(x)}
		}
		return cellView{Text: when(x)}
	case bool:
		if x {
			return cellView{Text: "yes", Class: "yes"}
		}
		return cellView{Text: "—"}
	}
	if v.CanInt() {
		return cellView{Text: strconv.FormatInt(v.Int(), 10), Class: "num"}
	}
	if col.Show == "short" {
		return cellView{Text: cut(v.String(), 40), Title: v.String()}
	}
	return cellView{Text: v.String()}
}

type formData struct {
	Spec   *kindSpec
	ID     int64
	Key    string
	Fields []fieldView
	Error  string // an error not about one field
	Back   string // the list's parameters
	Cancel string // the link back to the list
}

type fieldView struct {
	field
	Value    string
	Checked  bool
	Error    string
	ReadOnly bool
}

// formOf is the form of it, with err shown beside its field; typed, when
// not nil, is what was submitted, shown again as typed.
func formOf(spec *kindSpec, it item, editing bool, err error, typed url.Values) formData {
	d := formData{Spec: spec, ID: it.ID, Key: it.Key}
	var ve *rule.ValidationError
	errors.As(err, &ve)
	placed := ve == nil
	for _, f := range spec.Fields {
		val := formValue(fieldOf(it.v, spec.idx, f.Name), f)
		fv := fieldView{field: f, Value: val, Checked: val == "true", ReadOnly: editing && f.Key}
		if _, ok := typed[f.Name]; ok && f.Type != ftBool && !fv.ReadOnly {
			fv.Value = typed.Get(f.Name)
		}
		if ve != nil && ve.Field == f.Name {
			fv.Error, placed = ve.Problem+" (was "+strconv.Quote(ve.Value)+")", true
		}
		d.Fields = append(d.Fields, fv)
	}
	if err != nil && !placed {
		d.Error = err.Error()
	}
	return d
}

// decodeForm sets the form's fields on a copy of base (key fields kept when
// editing) and returns it with the first field that did not parse.
func decodeForm(spec *kindSpec, base item, form url.Values, editing bool) (item, error) {
	v := reflect.New(base.v.Type()).Elem()
	v.Set(base.v)
	var first error
	for _, f := range spec.Fields {
		if editing && f.Key {
			continue
		}
		if err := setForm(v, spec.idx[f.Name], f, form, spec.Type); err != nil && first == nil {
			first = err
		}
	}
	it := base
	it.v = v
	return it, first
}

// listHref is the link to a list at the position back names.
func listHref(c *call, spec *kindSpec, back string) string {
	h := c.base + "rules/" + spec.Slug
	if q, err := url.ParseQuery(back); err == nil && len(q) > 0 {
		h += "?" + q.Encode()
	}
	return h
}

// parseForm reads a form of at most MaxFormBytes.
func parseForm(c *call) error {
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, MaxFormBytes)
	if err := c.r.ParseForm(); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return err
		}
		return errf(http.StatusBadRequest, "bad form: %v", err)
	}
	return nil
}

func newHTML(s *server, c *call) {
	k, err := kindOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	d := formOf(k.spec(), k.blank(), false, nil, nil)
	d.Cancel = listHref(c, k.spec(), "")
	s.render(c, http.StatusOK, "form", "Add "+k.spec().Singular, d)
}

func createHTML(s *server, c *call) {
	k, err := kindOf(c)
	if err == nil {
		err = parseForm(c)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	spec := k.spec()
	it, err := decodeForm(spec, k.blank(), c.r.PostForm, false)
	if err == nil {
		var got item
		if got, err = s.create(c, k, it); err == nil {
			redirect(c, "rules/"+spec.Slug, url.Values{"ok": {"created"}, "key": {got.Key}})
			return
		}
	}
	s.formFailed(c, spec, it, false, err)
}

// formFailed shows the form again with the error and what was typed, or
// the error page for a failure that is not the input's.
func (s *server) formFailed(c *call, spec *kindSpec, it item, editing bool, err error) {
	he := s.asHTTP(err)
	if he.Status >= 500 || he.Status == http.StatusNotFound || he.Status == http.StatusRequestEntityTooLarge {
		s.fail(c, err)
		return
	}
	title := "Add " + spec.Singular
	if editing {
		title = "Edit " + spec.Singular + " " + it.Key
	}
	d := formOf(spec, it, editing, err, c.r.PostForm)
	d.Back = c.r.PostForm.Get("back")
	d.Cancel = listHref(c, spec, d.Back)
	s.render(c, he.Status, "form", title, d)
}

func editHTML(s *server, c *call) {
	k, it, err := s.itemOfCall(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	d := formOf(k.spec(), it, true, nil, nil)
	d.Back = c.r.URL.Query().Get("back")
	d.Cancel = listHref(c, k.spec(), d.Back)
	s.render(c, http.StatusOK, "form", fmt.Sprintf("Edit %s %s", k.spec().Singular, it.Key), d)
}

func updateHTML(s *server, c *call) {
	k, old, err := s.itemOfCall(c)
	if err == nil {
		err = parseForm(c)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	spec := k.spec()
	it, err := decodeForm(spec, old, c.r.PostForm, true)
	if err == nil {
		var got item
		if got, err = s.update(c, k, old, it); err == nil {
			redirect(c, "rules/"+spec.Slug, withBack(c, "ok", "updated", "key", got.Key))
			return
		}
	}
	s.formFailed(c, spec, it, true, err)
}
