package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
)

// fieldset is one group of the settings form, as the reference groups them.
type fieldset struct {
	Legend string
	Fields []field
}

func boolF(name, label, help string) field {
	return field{Name: name, Label: label, Type: ftBool, Help: help}
}
func intF(name, label, help string) field {
	return field{Name: name, Label: label, Type: ftInt, Help: help}
}

var settingsFieldsets = []fieldset{
	{"Feature toggles", []field{
		boolF("ip_blocking_enabled", "IP blocking", ""), boolF("user_agent_blocking_enabled", "User-Agent blocking", ""),
		boolF("country_blocking_enabled", "Country blocking", "block mode: blocked countries are denied"),
		boolF("country_allow_list_mode", "Country allow-list mode", "only allowed countries pass; needs a country database and an allowed country"),
		boolF("email_blocking_enabled", "E-mail blocking", ""), boolF("domain_blocking_enabled", "Domain blocking", ""),
		boolF("login_history_enabled", "Login history", ""),
		boolF("report_only", "Report only", "every check records WOULD_BLOCK and lets the request through"),
		boolF("report_only_country_allow_list", "Report only: country allow-list", "only the allow-list step is a dry run"),
	}},
	{"Login protection", []field{
		intF("max_login_attempts", "Max login attempts", "1 to 100"),
		intF("lockout_cooloff_minutes", "Lockout cool-off (minutes)", "0: until unlocked by hand"),
		boolF("attempt_expiry_enabled", "Attempts expire one by one", "needs a cool-off"),
	}},
	{"Auto-block IP", []field{
		intF("auto_block_ip_threshold", "Threshold (events)", "0 disables"), intF("auto_block_ip_window_hours", "Window (hours)", ""),
		intF("auto_block_ip_duration_hours", "Duration (hours)", "0: permanent"),
		intF("auto_block_max_duration_hours", "Longest duration (hours)", "cap of the doubling for repeat offenders"),
		{Name: "auto_block_weights", Label: "Weights", Type: ftText, Help: "ACTION=n,… what each action adds"},
		boolF("auto_block_dry_run", "Dry run", "record WOULD_BLOCK, block nothing"),
	}},
	{"Auto-block country", []field{
		boolF("auto_block_country_enabled", "Block countries automatically", "off: flag them for review"),
		intF("auto_block_country_threshold", "Threshold (events)", "0 disables"), intF("auto_block_country_window_hours", "Window (hours)", ""),
	}},
	{"Login anomaly detection", []field{
		boolF("alert_on_new_country", "Alert on a new country", ""), boolF("alert_on_new_ip", "Alert on a new IP", ""),
		intF("max_countries_per_day", "Max countries per day", "0 disables"),
	}},
	{"List sync", []field{
		boolF("sync_disposable_domains", "Sync disposable domains", ""), boolF("sync_bad_bots", "Sync bad bots", ""),
	}},
	{"Notifications", []field{
		boolF("notify_on_auto_block", "Notify on auto-block", ""),
		{Name: "notification_email", Label: "Notification e-mail", Type: ftText},
	}},
	{"Requests and retention", []field{
		{Name: "oversize_user_agent", Label: "User-Agent over 8 KiB", Type: ftSelect, Options: []string{core.OversizeDeny, core.OversizeAllow}},
		{Name: "internal_country", Label: "Country of internal addresses", Type: ftText, Help: "empty: private addresses pass the country step"},
		intF("retention_days", "Keep events, logins and lockouts (days)", "0 keeps everything"),
	}},
}

var settingsIdx = jsonIndex(reflect.TypeFor[core.Settings]())

type settingsData struct {
	Sets      []fieldsetView
	UpdatedAt string
	Base      string // the settings as read, JSON: what a conflict is judged against
	LastSync  string
	Error     string
	Conflict  []string // what changed meanwhile
}

type fieldsetView struct {
	Legend string
	Fields []fieldView
}

// settingsForm is the form of cur; base is what the form was read from.
func settingsForm(cur, base core.Settings, err error, theirs map[string]string) settingsData {
	b, _ := json.Marshal(base)
	d := settingsData{UpdatedAt: base.UpdatedAt.Format(time.RFC3339Nano), Base: string(b), LastSync: when(cur.LastSyncAt)}
	var ve *rule.ValidationError
	errors.As(err, &ve)
	placed := ve == nil
	v := reflect.ValueOf(cur)
	for _, fs := range settingsFieldsets {
		fv := fieldsetView{Legend: fs.Legend}
		for _, f := range fs.Fields {
			val := formValue(v.FieldByIndex(settingsIdx[f.Name]), f)
			x := fieldView{field: f, Value: val, Checked: val == "true"}
			if ve != nil && ve.Field == f.Name {
				x.Error, placed = ve.Problem+" (was "+ve.Value+")", true
			}
			if t, ok := theirs[f.Name]; ok {
				x.Error = "changed meanwhile to " + t + "; check it"
			}
			fv.Fields = append(fv.Fields, x)
		}
		d.Sets = append(d.Sets, fv)
	}
	if err != nil && !placed {
		d.Error = err.Error()
	}
	return d
}

// settingsValues maps each form field to its value as the form shows it.
func settingsValues(s core.Settings) map[string]string {
	v := reflect.ValueOf(s)
	out := map[string]string{}
	for _, fs := range settingsFieldsets {
		for _, f := range fs.Fields {
			out[f.Name] = formValue(v.FieldByIndex(settingsIdx[f.Name]), f)
		}
	}
	return out
}

// diffSettings lists the fields whose values differ between a and b.
func diffSettings(a, b core.Settings) map[string]string {
	va, vb := settingsValues(a), settingsValues(b)
	out := map[string]string{}
	for k, x := range va {
		if vb[k] != x {
			out[k] = vb[k]
		}
	}
	return out
}

func settingsHTML(s *server, c *call) {
	cur, err := s.eng.Settings(c.r.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "settings", "Settings", settingsForm(cur, cur, nil, nil))
}

// putSettings stores s and records what changed; the shared write of the
// page and the API.
func (s *server) putSettings(c *call, old, next core.Settings) (core.Settings, error) {
	got, err := s.eng.PutSettings(c.r.Context(), next)
	if err != nil {
		return got, err
	}
	var changed []string
	for k, v := range diffSettings(old, got) {
		changed = append(changed, k+" -> "+v)
	}
	s.record(c, 0, "update settings: %s", strings.Join(sortStrings(changed), ", "))
	return got, nil
}

// current is the stored settings, read again after a conflict.
func (s *server) current(c *call) (core.Settings, error) {
	_ = s.eng.Reload(c.r.Context())
	return s.eng.Settings(c.r.Context())
}

func saveSettingsHTML(s *server, c *call) {
	if err := parseForm(c); err != nil {
		s.fail(c, err)
		return
	}
	var base core.Settings
	if err := json.Unmarshal([]byte(c.r.PostFormValue("base")), &base); err != nil {
		s.fail(c, errf(http.StatusBadRequest, "the form lacks the settings it was read from; reload the page"))
		return
	}
	next, err := settingsFromForm(base, c)
	if err == nil {
		if _, err = s.putSettings(c, base, next); err == nil {
			redirect(c, "settings", map[string][]string{"ok": {"saved"}})
			return
		}
	}
	if !errors.Is(err, core.ErrConflict) {
		if he := s.asHTTP(err); he.Status >= 500 {
			s.fail(c, err)
			return
		}
		s.render(c, s.asHTTP(err).Status, "settings", "Settings", settingsForm(next, base, err, nil))
		return
	}
	cur, cerr := s.current(c)
	if cerr != nil {
		s.fail(c, cerr)
		return
	}
	s.render(c, http.StatusConflict, "settings", "Settings", conflictForm(base, next, cur))
}

// conflictForm merges: the fields this admin changed keep their value,
// the others take the stored one; the fields changed meanwhile are named.
func conflictForm(base, mine, cur core.Settings) settingsData {
	merged := cur
	mv, dst := reflect.ValueOf(mine), reflect.ValueOf(&merged).Elem()
	for name := range diffSettings(base, mine) {
		dst.FieldByIndex(settingsIdx[name]).Set(mv.FieldByIndex(settingsIdx[name]))
	}
	theirs := diffSettings(base, cur)
	d := settingsForm(merged, cur, nil, theirs)
	names := make([]string, 0, len(theirs))
	for k, v := range theirs {
		names = append(names, fmt.Sprintf("%s (now %s)", k, v))
	}
	d.Conflict = sortStrings(names)
	if len(d.Conflict) == 0 {
		d.Conflict = []string{"no field of this form (another field, or the same values written again)"}
	}
	return d
}

// settingsFromForm applies the form's fields over base, with the
// updated_at the form was read at.
func settingsFromForm(base core.Settings, c *call) (core.Settings, error) {
	next := base
	v := reflect.ValueOf(&next).Elem()
	for _, fs := range settingsFieldsets {
		for _, f := range fs.Fields {
			if err := setForm(v, settingsIdx[f.Name], f, c.r.PostForm, "Settings"); err != nil {
				return next, err
			}
		}
	}
	t, err := time.Parse(time.RFC3339Nano, c.r.PostFormValue("updated_at"))
	if err != nil {
		return next, errf(http.StatusBadRequest, "the form lacks the time its settings were read; reload the page")
	}
	next.UpdatedAt = t
	return next, nil
}

func sortStrings(s []string) []string { slices.Sort(s); return s }

func settingsAPI(s *server, c *call) {
	cur, err := s.eng.Settings(c.r.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	writeJSON(c.w, http.StatusOK, settingsJSON(cur))
}

// settingsJSON is s as the API shows it: updated_at always present, so a
// client can send back what it read (zero before the first save).
func settingsJSON(s core.Settings) map[string]any {
	var m map[string]any
	b, _ := json.Marshal(s)
	_ = json.Unmarshal(b, &m)
	m["updated_at"] = s.UpdatedAt
	return m
}

// putSettingsAPI applies a JSON body over the current settings; it must
// carry the updated_at it read, and a change made since is refused (409)
// naming the fields whose stored value differs from the body's.
func putSettingsAPI(s *server, c *call) {
	body, err := readBody(c)
	var cur, sent, next core.Settings
	if err == nil {
		cur, err = s.eng.Settings(c.r.Context())
	}
	if err == nil {
		sent, err = decodeSettings(cur, body)
	}
	if err == nil {
		next, err = s.putSettings(c, cur, sent)
	}
	if errors.Is(err, core.ErrConflict) {
		stored, cerr := s.current(c)
		if cerr != nil {
			s.fail(c, cerr)
			return
		}
		writeJSON(c.w, http.StatusConflict, map[string]any{
			"error":   "the settings changed since they were read (updated_at " + stored.UpdatedAt.Format(time.RFC3339Nano) + "); read them again",
			"field":   "updated_at",
			"differs": sortStrings(slices.Collect(maps.Keys(diffSettings(sent, stored)))),
			"stored":  settingsJSON(stored),
		})
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	writeJSON(c.w, http.StatusOK, settingsJSON(next))
}

// decodeSettings reads a JSON body over cur; updated_at is required.
func decodeSettings(cur core.Settings, body []byte) (core.Settings, error) {
	var stamp struct {
		UpdatedAt *time.Time `json:"updated_at"`
	}
	if err := json.Unmarshal(body, &stamp); err != nil {
		return cur, jsonErr("Settings", err)
	}
	if stamp.UpdatedAt == nil {
		return cur, fieldErr("Settings", "updated_at", "", "required: send the updated_at you read, so that no change is overwritten unseen")
	}
	next := cur
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&next); err != nil {
		return cur, jsonErr("Settings", err)
	}
	return next, nil
}
