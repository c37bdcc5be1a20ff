package options_test

import (
	"errors"
	"testing"

	"github.com/wardenkit/warden/adapters/internal/options"
)

type config struct{ n int }

type option func(*config) error

var errBad = errors.New("WithN: bad value")

func recovered(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

func TestApply(t *testing.T) {
	var cfg config
	add := func(n int) option { return func(c *config) error { c.n += n; return nil } }
	options.Apply("pkg: Fn", &cfg, []option{add(1), add(2)})
	if cfg.n != 3 {
		t.Fatalf("options not applied in order: %d", cfg.n)
	}
	options.Apply[config, option]("pkg: Fn", &cfg, nil)

	v := recovered(func() { options.Apply("pkg: Fn", &cfg, []option{add(1), nil}) })
	if err, ok := v.(error); !ok || err.Error() != "pkg: Fn: nil option" {
		t.Fatalf("nil option: panic %v", v)
	}
	bad := func(*config) error { return errBad }
	v = recovered(func() { options.Apply("pkg: Fn", &cfg, []option{bad}) })
	if err, ok := v.(error); !ok || err.Error() != "pkg: Fn: WithN: bad value" || !errors.Is(err, errBad) {
		t.Fatalf("failing option: panic %v", v)
	}
}
