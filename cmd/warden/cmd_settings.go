package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wardenkit/warden/core"
)

// readOnlySettings are kept by warden itself.
var readOnlySettings = []string{"updated_at", "last_sync_at"}

// settingKeys lists Settings' json names in declaration order.
func settingKeys() []string {
	var keys []string
	for _, f := range reflect.VisibleFields(reflect.TypeFor[core.Settings]()) {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

func settingsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "settings",
		Short: "Read and change the settings every replica applies",
		Long:  "Keys are the settings' JSON names:\n  " + strings.Join(settingKeys(), "\n  "),
		Example: `  warden settings get
  warden settings get max_login_attempts
  warden settings set lockout_cooloff_minutes 30`,
	}
	get := &cobra.Command{
		Use:     "get [KEY]",
		Short:   "Print every setting as JSON, or the value of one",
		Example: "  warden settings get\n  warden settings get report_only",
		Args:    rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, _, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			s, err := st.Settings(cmd.Context())
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return printJSON(a.stdout, s)
			}
			m, err := settingsMap(s)
			if err != nil {
				return err
			}
			v, ok := m[args[0]]
			if !ok {
				return unknownSetting(args[0])
			}
			a.say("%s", bytes.Trim(v, `"`))
			return nil
		},
	}
	set := &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Change one setting (validated as the library validates it)",
		Long: `set changes one setting; the new settings are validated as a whole and
refused, changing nothing, when any value is out of range.`,
		Example: "  warden settings set max_login_attempts 10\n  warden settings set report_only true",
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return setSetting(cmd, a, args[0], args[1])
		},
	}
	cmd.AddCommand(get, set)
	return cmd
}

func unknownSetting(key string) error {
	return usagef("unknown setting %q; see: warden settings --help", key)
}

func settingsMap(s core.Settings) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	m := map[string]json.RawMessage{}
	return m, json.Unmarshal(b, &m)
}

func setSetting(cmd *cobra.Command, a *app, key, value string) error {
	if !slices.Contains(settingKeys(), key) {
		return unknownSetting(key)
	}
	if slices.Contains(readOnlySettings, key) {
		return usagef("%s is kept by warden and cannot be set", key)
	}
	eng, err := a.engine(cmd.Context())
	if err != nil {
		return err
	}
	s, err := eng.Settings(cmd.Context())
	if err != nil {
		return err
	}
	m, err := settingsMap(s)
	if err != nil {
		return err
	}
	raw, err := settingValue(s, key, value)
	if err != nil {
		return err
	}
	old := m[key]
	m[key] = raw
	b, _ := json.Marshal(m)
	var next core.Settings
	if err := json.Unmarshal(b, &next); err != nil {
		return fmt.Errorf("%s: %v", key, err)
	}
	if _, err := eng.PutSettings(cmd.Context(), next); errors.Is(err, core.ErrConflict) {
		return fmt.Errorf("the settings changed while %s was being set (another admin or process wrote them); nothing was written: run the command again", key)
	} else if err != nil {
		return err
	}
	a.say("%s: %s -> %s", key, bytes.Trim(old, `"`), value)
	a.admin(fmt.Sprintf("settings set %s %s (was %s)", key, raw, old))
	return nil
}

// settingValue is value as the JSON of key's field: a string quoted, a
// number or boolean checked.
func settingValue(s core.Settings, key, value string) (json.RawMessage, error) {
	for _, f := range reflect.VisibleFields(reflect.TypeOf(s)) {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != key {
			continue
		}
		switch f.Type.Kind() {
		case reflect.Bool:
			b, err := strconv.ParseBool(value)
			if err != nil {
				return nil, usagef("%s takes true or false, not %q", key, value)
			}
			return json.RawMessage(strconv.FormatBool(b)), nil
		case reflect.Int:
			n, err := strconv.Atoi(value)
			if err != nil {
				return nil, usagef("%s takes a whole number, not %q", key, value)
			}
			return json.RawMessage(strconv.Itoa(n)), nil
		default:
			b, err := json.Marshal(value)
			return b, err
		}
	}
	return nil, unknownSetting(key)
}
