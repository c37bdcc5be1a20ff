package admin_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wardenkit/warden/core/rule"
)

// upload posts a file to an import form.
func (e *env) upload(path, name, format, content string) *httptest.ResponseRecorder {
	e.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("format", format)
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write([]byte(content))
	_ = mw.Close()
	return e.do(http.MethodPost, path, &b, map[string]string{"Content-Type": mw.FormDataContentType()})
}

func TestImportWithABadRowAppliesNothing(t *testing.T) {
	e := newEnv(t)
	csv := "network,reason\n203.0.113.1,ok\n300.0.0.1,typo\n203.0.113.3,ok\n"
	w := e.upload("/rules/blocked-ips/import", "ips.csv", "csv", csv)
	wantStatus(t, w, http.StatusUnprocessableEntity)
	doc := parseHTML(t, w.Body.String())
	rows := findByClass(doc, "row-errors")
	if len(rows) != 1 || !strings.Contains(text(rows[0]), "300.0.0.1") || !strings.Contains(text(rows[0]), "3") {
		t.Errorf("the bad row (line 3) is not reported:\n%s", cutBody(w.Body.String()))
	}
	if !strings.Contains(w.Body.String(), "nothing was imported") {
		t.Errorf("the page does not say nothing was imported")
	}
	if d := e.check("203.0.113.1"); !d.Allowed {
		t.Errorf("a good row of a refused file was applied")
	}
	w = e.upload("/rules/blocked-ips/import", "ips.csv", "csv", strings.Replace(csv, "300.0.0.1", "203.0.113.2", 1))
	wantStatus(t, w, http.StatusSeeOther)
	for _, ip := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		if d := e.check(ip); d.Allowed {
			t.Errorf("%s not blocked after the import", ip)
		}
	}
	code, m := e.api("POST", "/rules/blocked-emails/import?format=json", `[{"email":"a@example.com"},{"email":"nope"}]`)
	if code != 422 || len(m["rows"].([]any)) != 1 {
		t.Errorf("API import with a bad row: %d %v", code, m)
	}
	code, m = e.api("POST", "/rules/blocked-emails/import?format=json", `[{"email":"a@example.com"},{"email":"b@example.com"}]`)
	if code != 200 || m["imported"] != 2.0 {
		t.Errorf("API import: %d %v", code, m)
	}
	if code, _ := e.api("POST", "/rules/blocked-emails/import?format=xml", `x`); code != 400 {
		t.Errorf("unknown format: %d", code)
	}
	evs := e.adminEvents()
	if len(evs) != 2 || !strings.Contains(evs[0].Details+evs[1].Details, "import 3 Blocked IPs from csv") {
		t.Errorf("ADMIN_ACTION events: %+v", evs)
	}
}

func TestExportNeutralisesFormulas(t *testing.T) {
	e := newEnv(t)
	if _, err := e.eng.Rules().BlockedIPs().Put(context.Background(), rule.BlockedIP{Network: "192.0.2.1", Reason: "=cmd|' /C calc'!A0"}); err != nil {
		t.Fatal(err)
	}
	w := e.get("/rules/blocked-ips/export?format=csv")
	wantStatus(t, w, http.StatusOK)
	body := w.Body.String()
	if !strings.Contains(body, `'=cmd|`) || strings.Contains(body, ",=cmd") || strings.Contains(body, "\n=cmd") {
		t.Errorf("formula exported live:\n%s", body)
	}
	if cd := w.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, ".csv") {
		t.Errorf("Content-Disposition %q", cd)
	}
	// The export imports back unchanged.
	if err := e.eng.Rules().BlockedIPs().Delete(context.Background(), "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.upload("/rules/blocked-ips/import", "x.csv", "csv", body), http.StatusSeeOther)
	got, err := e.eng.Rules().BlockedIPs().Get(context.Background(), "192.0.2.1")
	if err != nil || got.Reason != "=cmd|' /C calc'!A0" {
		t.Errorf("round trip: %+v %v", got, err)
	}
	wantStatus(t, e.get("/rules/blocked-ips/export?format=xls"), http.StatusBadRequest)
}

func TestHugeUploadRefused(t *testing.T) {
	e := newEnv(t)
	big := "network\n" + strings.Repeat("192.0.2.1\n", (11<<20)/10)
	w := e.upload("/rules/blocked-ips/import", "big.csv", "csv", big)
	wantStatus(t, w, http.StatusRequestEntityTooLarge)
	w = e.do(http.MethodPost, "/api/rules/blocked-ips/import?format=csv", strings.NewReader(big), nil)
	wantStatus(t, w, http.StatusRequestEntityTooLarge)
	w = e.do(http.MethodPost, "/rules/blocked-ips/new", strings.NewReader("reason="+strings.Repeat("a", 2<<20)), nil)
	wantStatus(t, w, http.StatusRequestEntityTooLarge)
	w = e.do(http.MethodPost, "/api/rules/blocked-ips", strings.NewReader(`{"reason":"`+strings.Repeat("a", 2<<20)+`"}`), nil)
	wantStatus(t, w, http.StatusRequestEntityTooLarge)
	if evs := e.adminEvents(); len(evs) != 0 {
		t.Errorf("refused uploads recorded events: %+v", evs)
	}
}
