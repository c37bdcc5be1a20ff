package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// The JSON API of the rules: the same operations as the pages, through the
// same functions (list, create, update, setActive, remove, bulk), so the
// same validation and the same ADMIN_ACTION events.

// readBody reads a JSON body of at most MaxFormBytes.
func readBody(c *call) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, MaxFormBytes))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, err
		}
		return nil, errf(http.StatusBadRequest, "cannot read the body: %v", err)
	}
	return b, nil
}

type kindJSON struct {
	Slug     string   `json:"slug"`
	Title    string   `json:"title"`
	Type     string   `json:"type"`
	Key      []string `json:"key"`
	Filters  []string `json:"filters"`
	Search   []string `json:"search"`
	Editable []string `json:"fields"`
}

func kindsAPI(s *server, c *call) {
	out := make([]kindJSON, 0, len(kindList))
	for _, k := range kindList {
		sp := k.spec()
		kj := kindJSON{Slug: sp.Slug, Title: sp.Title, Type: sp.Type, Search: sp.Search, Key: []string{}, Filters: []string{}}
		for _, f := range sp.Fields {
			kj.Editable = append(kj.Editable, f.Name)
			if f.Key {
				kj.Key = append(kj.Key, f.Name)
			}
		}
		for _, f := range sp.Filters {
			kj.Filters = append(kj.Filters, f.Name)
		}
		out = append(out, kj)
	}
	writeJSON(c.w, http.StatusOK, out)
}

type listJSON struct {
	Rules   []any `json:"rules"`
	Next    int64 `json:"next,omitempty"`
	Scanned int   `json:"scanned"`
	Capped  bool  `json:"capped"`
}

func listAPI(s *server, c *call) {
	k, err := kindOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	q, err := parseListQuery(k.spec(), c.r.URL.Query())
	if err != nil {
		s.fail(c, err)
		return
	}
	p, err := s.list(c.r.Context(), k, q)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := listJSON{Rules: make([]any, len(p.Items)), Next: p.Next, Scanned: p.Scanned, Capped: p.Capped}
	for i, it := range p.Items {
		out.Rules[i] = it.v.Interface()
	}
	writeJSON(c.w, http.StatusOK, out)
}

func getAPI(s *server, c *call) {
	_, it, err := s.itemOfCall(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	writeJSON(c.w, http.StatusOK, it.v.Interface())
}

func createAPI(s *server, c *call) {
	k, err := kindOf(c)
	var body []byte
	if err == nil {
		body, err = readBody(c)
	}
	var it item
	if err == nil {
		it, err = k.decodeJSON(k.blank(), body)
	}
	if err == nil {
		it, err = s.create(c, k, it)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	writeJSON(c.w, http.StatusCreated, it.v.Interface())
}

func updateAPI(s *server, c *call) {
	k, old, err := s.itemOfCall(c)
	var body []byte
	if err == nil {
		body, err = readBody(c)
	}
	var it item
	if err == nil {
		it, err = k.decodeJSON(old, body)
	}
	if err == nil {
		it, err = s.update(c, k, old, it)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	writeJSON(c.w, http.StatusOK, it.v.Interface())
}

func deleteAPI(s *server, c *call) {
	k, it, err := s.itemOfCall(c)
	if err == nil {
		err = s.remove(c, k, it)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.w.WriteHeader(http.StatusNoContent)
}

// decodeStrict reads one JSON value into v, refusing unknown fields.
func decodeStrict(body []byte, v any, typ string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonErr(typ, err)
	}
	if dec.More() {
		return errf(http.StatusBadRequest, "the body holds more than one JSON value")
	}
	return nil
}

type bulkJSON struct {
	Action string  `json:"action"`
	IDs    []int64 `json:"ids"`
}

func bulkAPI(s *server, c *call) {
	k, err := kindOf(c)
	var body []byte
	if err == nil {
		body, err = readBody(c)
	}
	var req bulkJSON
	if err == nil {
		err = decodeStrict(body, &req, "bulk")
	}
	var done int
	var failed []string
	if err == nil {
		done, failed, err = s.bulk(c, k, req.Action, req.IDs)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	status := http.StatusOK
	if failed == nil {
		failed = []string{}
	}
	if len(failed) > 0 {
		status = http.StatusConflict
	}
	writeJSON(c.w, status, map[string]any{"done": done, "failed": failed})
}
