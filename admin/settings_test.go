package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wardenkit/warden/core"
)

func TestSettingsSaveAndValidate(t *testing.T) {
	e := newEnv(t)
	doc := parseHTML(t, e.get("/settings").Body.String())
	form := formValues(t, doc, "settings")
	form.Set("max_login_attempts", "7")
	form.Del("report_only")
	form.Set("report_only", "on")
	wantStatus(t, e.post("/settings", form), http.StatusSeeOther)
	got, _ := e.eng.Settings(context.Background())
	if got.MaxLoginAttempts != 7 || !got.ReportOnly {
		t.Fatalf("not saved: %+v", got)
	}

	doc = parseHTML(t, e.get("/settings").Body.String())
	form = formValues(t, doc, "settings")
	form.Set("max_login_attempts", "0")
	w := e.post("/settings", form)
	wantStatus(t, w, http.StatusUnprocessableEntity)
	errs := findByClass(parseHTML(t, w.Body.String()), "invalid")
	if len(errs) != 1 || !strings.Contains(renderAttrs(errs[0]), `name="max_login_attempts"`) || !strings.Contains(text(errs[0]), "between 1 and 100") {
		t.Errorf("error not beside max_login_attempts:\n%s", cutBody(w.Body.String()))
	}
	if got, _ := e.eng.Settings(context.Background()); got.MaxLoginAttempts != 7 {
		t.Errorf("an invalid form was saved: %d", got.MaxLoginAttempts)
	}
	evs := e.adminEvents()
	if len(evs) != 1 || !strings.Contains(evs[0].Details, "max_login_attempts -> 7") || !strings.Contains(evs[0].Details, "report_only -> true") {
		t.Errorf("ADMIN_ACTION events: %+v", evs)
	}
}

func TestSettingsConflictRefusedNamingTheChange(t *testing.T) {
	e := newEnv(t)
	form := formValues(t, parseHTML(t, e.get("/settings").Body.String()), "settings")
	// Someone else saves meanwhile.
	other, _ := e.eng.Settings(context.Background())
	other.LockoutCooloffMinutes = 42
	if _, err := e.eng.PutSettings(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	form.Set("max_login_attempts", "9")
	w := e.post("/settings", form)
	wantStatus(t, w, http.StatusConflict)
	if body := w.Body.String(); !strings.Contains(body, "changed since this form was read") || !strings.Contains(body, "lockout_cooloff_minutes (now 42)") {
		t.Fatalf("the refusal does not name the change:\n%s", cutBody(body))
	}
	if got, _ := e.eng.Settings(context.Background()); got.MaxLoginAttempts == 9 || got.LockoutCooloffMinutes != 42 {
		t.Fatalf("the racing save overwrote: %+v", got)
	}
	// The form shown again keeps my change over the stored settings; saving it keeps both.
	again := formValues(t, parseHTML(t, w.Body.String()), "settings")
	if again.Get("max_login_attempts") != "9" || again.Get("lockout_cooloff_minutes") != "42" {
		t.Fatalf("merged form: attempts %s, cool-off %s", again.Get("max_login_attempts"), again.Get("lockout_cooloff_minutes"))
	}
	wantStatus(t, e.post("/settings", again), http.StatusSeeOther)
	if got, _ := e.eng.Settings(context.Background()); got.MaxLoginAttempts != 9 || got.LockoutCooloffMinutes != 42 {
		t.Errorf("after the second save: %+v", got)
	}
}

func TestSettingsAPI(t *testing.T) {
	e := newEnv(t)
	code, m := e.api("PUT", "/settings", `{"max_login_attempts":8}`)
	if code != 422 || m["field"] != "updated_at" {
		t.Errorf("without updated_at: %d %v", code, m)
	}
	code, cur := e.api("GET", "/settings", "")
	if code != 200 {
		t.Fatal(code)
	}
	stamp, _ := json.Marshal(cur["updated_at"])
	code, m = e.api("PUT", "/settings", `{"max_login_attempts":8,"updated_at":`+string(stamp)+`}`)
	if code != 200 || m["max_login_attempts"] != 8.0 {
		t.Fatalf("put: %d %v", code, m)
	}
	code, m = e.api("PUT", "/settings", `{"max_login_attempts":3,"updated_at":`+string(stamp)+`}`)
	if code != http.StatusConflict || !strings.Contains(m["error"].(string), "changed since") || !reflect.DeepEqual(m["differs"], []any{"max_login_attempts"}) {
		t.Errorf("stale updated_at: %d %v", code, m)
	}
	code, m = e.api("PUT", "/settings", `{"max_login_attempts":500,"updated_at":"`+time.Now().Format(time.RFC3339)+`"}`)
	if code != 422 || m["field"] != "max_login_attempts" || m["value"] != "500" {
		t.Errorf("invalid value: %d %v", code, m)
	}
	if code, m = e.api("PUT", "/settings", `{"max_login_attempt":3,"updated_at":`+string(stamp)+`}`); code != 400 {
		t.Errorf("unknown field: %d %v", code, m)
	}
}

func TestEverySettingIsOnTheForm(t *testing.T) {
	e := newEnv(t)
	page := e.get("/settings").Body.String()
	for _, f := range reflect.VisibleFields(reflect.TypeFor[core.Settings]()) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "updated_at" || name == "last_sync_at" {
			continue
		}
		if !strings.Contains(page, `name="`+name+`"`) {
			t.Errorf("setting %s is not on the form", name)
		}
	}
}
