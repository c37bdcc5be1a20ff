package admin

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/wardenkit/warden/core"
)

// Paging: core.Query pages by ID (keyset), so a page costs the same on the
// millionth row as on the first. Filters that core.Query cannot express
// (inactive rows, flags, search) are applied here over keyset batches, and a
// page stops after maxScan rows read, offering to go on from there.
const (
	defaultLimit = 50
	maxLimit     = 500
	scanBatch    = 500
	maxScan      = 5000
)

// listQuery is a rule list's page: where it starts, its size, filters and
// search, all from the URL.
type listQuery struct {
	After   int64
	Limit   int
	Search  string
	Filters map[string]string // only the set ones
}

// parseListQuery reads and checks a list's parameters against its kind.
func parseListQuery(spec *kindSpec, v url.Values) (listQuery, error) {
	q := listQuery{Limit: defaultLimit, Search: strings.TrimSpace(v.Get("q")), Filters: map[string]string{}}
	var err error
	if q.After, err = parseID(v.Get("after"), "after"); err != nil {
		return q, err
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return q, errf(http.StatusBadRequest, "bad limit %q: a number from 1 to %d", s, maxLimit)
		}
		q.Limit = n
	}
	if len(q.Search) > 200 {
		return q, errf(http.StatusBadRequest, "the search is too long: at most 200 bytes")
	}
	for _, f := range spec.Filters {
		val := strings.TrimSpace(v.Get(f.Name))
		if val == "" {
			continue
		}
		if f.Options != nil && !slices.Contains(f.Options, val) {
			return q, errf(http.StatusBadRequest, "bad %s filter %q: want one of %s", f.Name, val, strings.Join(f.Options, ", "))
		}
		q.Filters[f.Name] = val
	}
	return q, nil
}

// parseID reads a non-negative ID ("" is 0).
func parseID(s, name string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errf(http.StatusBadRequest, "bad %s %q: an id is a positive number", name, s)
	}
	return n, nil
}

// values is q as URL parameters, without the page's start.
func (q listQuery) values() url.Values {
	v := url.Values{}
	for k, x := range q.Filters {
		v.Set(k, x)
	}
	if q.Search != "" {
		v.Set("q", q.Search)
	}
	if q.Limit != defaultLimit {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// listPage is one page of rows.
type listPage struct {
	Items   []item
	Next    int64 // the "after" of the next page; 0 when this is the last
	Scanned int   // rows read
	Capped  bool  // the page stopped at maxScan rows read, not full
}

// list reads one page of k's rows.
func (s *server) list(ctx context.Context, k kindOps, q listQuery) (listPage, error) {
	rs := s.eng.Rules()
	keep := matcher(k.spec(), q)
	cq := core.Query{AfterID: q.After, ActiveOnly: q.Filters["active"] == "yes"}
	var p listPage
	for {
		cq.Limit = q.Limit + 1
		if keep != nil {
			cq.Limit = scanBatch
		}
		rows, err := k.scan(ctx, rs, cq)
		if err != nil {
			return p, err
		}
		for _, it := range rows {
			p.Scanned++
			cq.AfterID = it.ID
			if keep != nil && !keep(it) {
				continue
			}
			if len(p.Items) == q.Limit {
				p.Next = p.Items[q.Limit-1].ID
				return p, nil
			}
			p.Items = append(p.Items, it)
		}
		if len(rows) < cq.Limit {
			break
		}
		if p.Scanned >= maxScan {
			p.Capped, p.Next = true, cq.AfterID
			break
		}
	}
	if len(p.Items) == 0 && q.After > 0 && !p.Capped {
		if more, err := k.scan(ctx, rs, core.Query{AfterID: q.After, Limit: 1}); err == nil && len(more) == 0 {
			return p, errf(http.StatusNotFound, "past the end: no %s after id %d", k.spec().Title, q.After)
		}
	}
	return p, nil
}

// matcher is the filter of q that core.Query cannot apply, or nil.
func matcher(spec *kindSpec, q listQuery) func(item) bool {
	var tests []func(item) bool
	for name, val := range q.Filters {
		switch {
		case name == "active" && val == "yes": // core.Query.ActiveOnly
		case name == "active":
			tests = append(tests, func(it item) bool { return !it.Active })
		case val == "yes" || val == "no":
			want := val == "yes"
			tests = append(tests, func(it item) bool { return fieldOf(it.v, spec.idx, name).Bool() == want })
		default:
			tests = append(tests, func(it item) bool { return strings.EqualFold(fieldOf(it.v, spec.idx, name).String(), val) })
		}
	}
	if q.Search != "" {
		needle := strings.ToLower(q.Search)
		tests = append(tests, func(it item) bool {
			for _, f := range spec.Search {
				if strings.Contains(strings.ToLower(fieldOf(it.v, spec.idx, f).String()), needle) {
					return true
				}
			}
			return false
		})
	}
	if len(tests) == 0 {
		return nil
	}
	return func(it item) bool {
		for _, t := range tests {
			if !t(it) {
				return false
			}
		}
		return true
	}
}

// kindOf is the kind named in the URL, or a 404 naming the known ones.
func kindOf(c *call) (kindOps, error) {
	slug := c.r.PathValue("kind")
	if k, ok := kindBySlug(slug); ok {
		return k, nil
	}
	names := make([]string, len(kindList))
	for i, k := range kindList {
		names[i] = k.spec().Slug
	}
	return nil, errf(http.StatusNotFound, "unknown rule kind %q: want one of %s", slug, strings.Join(names, ", "))
}

// itemOfCall is the kind and the row the URL names.
func (s *server) itemOfCall(c *call) (kindOps, item, error) {
	k, err := kindOf(c)
	if err != nil {
		return nil, item{}, err
	}
	id, err := parseID(c.r.PathValue("id"), "id")
	if err != nil {
		return nil, item{}, err
	}
	it, err := k.byID(c.r.Context(), s.eng.Rules(), id)
	return k, it, err
}
