package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestListsSync(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("# disposable\nmailinator.example\nthrowaway.example\n"))
	}))
	t.Cleanup(srv.Close)
	dsn := backends()[0].newDSN(t)
	must(t, dsn, "migrate")
	out := must(t, dsn, "lists", "sync", "--domains-only", "--domain-url", srv.URL+"/list.txt")
	if !strings.Contains(out, "downloaded "+srv.URL+"/list.txt: 50 B in ") ||
		!strings.Contains(out, "disposable domains: applied (added 2") || !strings.Contains(out, "bad bots: not_requested") {
		t.Errorf("sync said:\n%s", out)
	}
	if out := must(t, dsn, "rules", "list", "domain"); !strings.Contains(out, "throwaway.example") {
		t.Errorf("synced domain missing:\n%s", out)
	}
	if out := must(t, dsn, "events", "--action", "ADMIN_ACTION"); !strings.Contains(out, "lists sync: domains applied +2") {
		t.Errorf("no ADMIN_ACTION for the sync:\n%s", out)
	}
	if r := warden(t, dsn, "lists", "sync", "--domains-only", "--bots-only"); r.code != 2 {
		t.Errorf("both --domains-only and --bots-only: exit %d", r.code)
	}
	srv.Close()
	if r := warden(t, dsn, "lists", "sync", "--domains-only", "--domain-url", srv.URL+"/list.txt"); r.code != 1 {
		t.Errorf("unreachable list: exit %d, %s", r.code, r.stderr)
	}
	if out := must(t, dsn, "rules", "list", "domain"); !strings.Contains(out, "throwaway.example") {
		t.Errorf("a failed sync changed the list:\n%s", out)
	}
}
