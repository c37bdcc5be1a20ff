package admin

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/wardenkit/warden/ruleio"
)

// Import and export in ruleio's format, the one the warden command uses.

// formatOf reads the format parameter.
func formatOf(v string) (ruleio.Format, error) {
	switch ruleio.Format(v) {
	case ruleio.CSV, ruleio.JSON:
		return ruleio.Format(v), nil
	}
	return "", errf(http.StatusBadRequest, "bad format %q: want csv or json", v)
}

// exportRules answers a file of every rule of a kind (page and API alike).
func exportRules(s *server, c *call) {
	k, err := kindOf(c)
	var f ruleio.Format
	if err == nil {
		f, err = formatOf(c.r.URL.Query().Get("format"))
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	h := c.w.Header()
	name := fmt.Sprintf("warden-%s-%s.%s", k.spec().Slug, s.cfg.clock.Now().UTC().Format("20060102"), f)
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Content-Type", map[ruleio.Format]string{ruleio.CSV: "text/csv; charset=utf-8", ruleio.JSON: "application/json; charset=utf-8"}[f])
	// Written straight to the client: a failure part-way can only cut the
	// file short, and is logged.
	if _, err := k.exportAll(c.r.Context(), s.eng.Rules(), c.w, f); err != nil {
		s.cfg.log.Error("warden admin: export", "kind", k.spec().Slug, "error", err)
	}
}

// importResult is what an import did, or why it did nothing.
type importResult struct {
	Spec     *kindSpec
	Imported int
	Rows     []rowErrJSON
	Error    string
	CanWrite bool
}

type rowErrJSON struct {
	Row   int    `json:"row"`
	Key   string `json:"key,omitempty"`
	Error string `json:"error"`
}

// importRules applies an uploaded list: every row or none (ruleio checks
// all first), then one ADMIN_ACTION event.
func (s *server) importRules(c *call, k kindOps, r io.Reader, f ruleio.Format, from string) (int, error) {
	n, err := k.importAll(c.r.Context(), s.eng.Rules(), r, f)
	if n > 0 {
		s.record(c, 0, "import %d %s from %s %s", n, k.spec().Title, f, from)
	}
	return n, err
}

// rowErrors lists the rows of an *ruleio.ImportError, or nil.
func rowErrors(err error) []rowErrJSON {
	var ie *ruleio.ImportError
	if !errors.As(err, &ie) {
		return nil
	}
	out := make([]rowErrJSON, len(ie.Rows))
	for i, re := range ie.Rows {
		out[i] = rowErrJSON{Row: re.Row, Key: re.Key, Error: re.Err.Error()}
	}
	return out
}

func importFormHTML(s *server, c *call) {
	k, err := kindOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "import", "Import "+k.spec().Title, importResult{Spec: k.spec(), CanWrite: !c.readOnly})
}

func importHTML(s *server, c *call) {
	k, err := kindOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	d := importResult{Spec: k.spec(), CanWrite: true}
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, MaxImportBytes+64<<10)
	if err := c.r.ParseMultipartForm(1 << 20); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			s.fail(c, errf(http.StatusRequestEntityTooLarge, "the file is too large: at most %d MiB", MaxImportBytes>>20))
			return
		}
		s.fail(c, errf(http.StatusBadRequest, "bad upload: %v", err))
		return
	}
	f, err := formatOf(c.r.FormValue("format"))
	if err != nil {
		s.fail(c, err)
		return
	}
	file, hdr, err := c.r.FormFile("file")
	if err != nil {
		s.fail(c, errf(http.StatusBadRequest, "no file: choose a %s file to import", f))
		return
	}
	defer file.Close()
	if hdr.Size > MaxImportBytes {
		s.fail(c, errf(http.StatusRequestEntityTooLarge, "the file is too large: at most %d MiB", MaxImportBytes>>20))
		return
	}
	d.Imported, err = s.importRules(c, k, file, f, strconv.Quote(hdr.Filename))
	if err != nil {
		he := s.asHTTP(err)
		d.Rows, d.Error = rowErrors(err), he.Msg
		status := he.Status
		if d.Rows != nil {
			status, d.Error = http.StatusUnprocessableEntity, fmt.Sprintf("%d rows are invalid; nothing was imported", len(d.Rows))
		} else if errors.Is(err, ruleio.ErrFormat) {
			status = http.StatusBadRequest
		}
		s.render(c, status, "import", "Import "+k.spec().Title, d)
		return
	}
	redirect(c, "rules/"+k.spec().Slug, url.Values{"ok": {"imported"}, "n": {strconv.Itoa(d.Imported)}})
}

func importAPI(s *server, c *call) {
	k, err := kindOf(c)
	var f ruleio.Format
	if err == nil {
		f, err = formatOf(c.r.URL.Query().Get("format"))
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	body := http.MaxBytesReader(c.w, c.r.Body, MaxImportBytes)
	n, err := s.importRules(c, k, body, f, "the API")
	if err != nil {
		if rows := rowErrors(err); rows != nil {
			writeJSON(c.w, http.StatusUnprocessableEntity, map[string]any{
				"error": fmt.Sprintf("%d rows are invalid; nothing was imported", len(rows)), "rows": rows})
			return
		}
		if errors.Is(err, ruleio.ErrFormat) && !isTooLarge(err) {
			err = errf(http.StatusBadRequest, "%v", err)
		}
		s.fail(c, err)
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"imported": n})
}

func isTooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}
