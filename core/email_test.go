package core_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

func TestCheckEmail(t *testing.T) {
	e := newEnv(t)
	put(e, e.eng.Rules().BlockedEmails(), rule.BlockedEmail{Email: "Spammer@Example.COM"})
	put(e, e.eng.Rules().BlockedDomains(), rule.BlockedDomain{Domain: "mailinator.com"})
	put(e, e.eng.Rules().BlockedDomains(), rule.BlockedDomain{Domain: "bücher.example", Type: "spam"})
	for _, c := range []struct {
		name, addr string
		status     int
		action     core.Action
	}{
		{"exact_address_any_case", " SPAMMER@example.com ", 403, core.ActionEmailBlock},
		{"domain", "anyone@mailinator.com", 403, core.ActionDomainBlock},
		{"subdomain", "x@mail.sub.Mailinator.com", 403, core.ActionDomainBlock},
		{"trailing_dot_domain", "x@mailinator.com.", 403, core.ActionDomainBlock},
		{"idn_domain_unicode", "leser@BÜCHER.example", 403, core.ActionDomainBlock},
		{"idn_domain_punycode", "leser@xn--bcher-kva.example", 403, core.ActionDomainBlock},
		{"other_domain_with_same_suffix", "x@notmailinator.com", 0, ""},
		{"allowed", "alice@example.com", 0, ""},
		{"unicode_local_part", "Jörg@example.com", 0, ""},
		{"no_at", "alice.example.com", 400, ""},
		{"two_ats", "a@b@example.com", 400, ""},
		{"empty_local", "@example.com", 400, ""},
		{"one_label_domain", "a@localhost", 400, ""},
		{"binary_junk", "\xff\xfe@\x00.com", 400, ""},
		{"huge", strings.Repeat("a", 1<<20) + "@example.com", 400, ""},
		{"dot_dot_local", "a..b@example.com", 400, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := e.eng.CheckEmail(e.ctx(), nil, c.addr)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != (c.status == 0) || d.Status != c.status || d.Action != c.action {
				t.Fatalf("CheckEmail(%.40q) = %+v; want status %d, action %q", c.addr, d, c.status, c.action)
			}
			if c.status == 400 && d.Reason != core.ReasonInvalidEmail {
				t.Fatalf("reason %q, want %q", d.Reason, core.ReasonInvalidEmail)
			}
		})
	}
	evs := e.events()
	var emailEvents, domainEvents int
	for _, ev := range evs {
		switch ev.Action {
		case core.ActionEmailBlock:
			emailEvents += int(ev.Count)
			if ev.UserEmail != "spammer@example.com" {
				t.Errorf("EMAIL_BLOCK event names %q", ev.UserEmail)
			}
		case core.ActionDomainBlock:
			domainEvents += int(ev.Count)
		}
	}
	if emailEvents != 1 || domainEvents != 5 {
		t.Fatalf("%d EMAIL_BLOCK and %d DOMAIN_BLOCK events; want 1 and 5", emailEvents, domainEvents)
	}
}

func TestCheckEmailSwitchesAndReportOnly(t *testing.T) {
	e := newEnv(t)
	put(e, e.eng.Rules().BlockedEmails(), rule.BlockedEmail{Email: "bad@example.com"})
	put(e, e.eng.Rules().BlockedDomains(), rule.BlockedDomain{Domain: "spam.example"})
	e.settings(func(s *core.Settings) { s.EmailBlockingEnabled = false })
	if d, _ := e.eng.CheckEmail(e.ctx(), nil, "bad@example.com"); !d.Allowed {
		t.Fatalf("email blocking off: %+v", d)
	}
	if d, _ := e.eng.CheckEmail(e.ctx(), nil, "x@spam.example"); d.Allowed {
		t.Fatal("domain blocking still on, yet allowed")
	}
	e.settings(func(s *core.Settings) { s.DomainBlockingEnabled = false })
	if d, _ := e.eng.CheckEmail(e.ctx(), nil, "x@spam.example"); !d.Allowed {
		t.Fatalf("domain blocking off: %+v", d)
	}
	e.settings(func(s *core.Settings) {
		s.EmailBlockingEnabled, s.DomainBlockingEnabled, s.ReportOnly = true, true, true
	})
	d, _ := e.eng.CheckEmail(e.ctx(), nil, "bad@example.com")
	if !d.Allowed || !d.ReportOnly || d.Action != core.ActionEmailBlock {
		t.Fatalf("report-only: %+v", d)
	}
	// A report-only rule, with the global switch off.
	e.settings(func(s *core.Settings) { s.ReportOnly = false })
	put(e, e.eng.Rules().BlockedDomains(), rule.BlockedDomain{Domain: "trial.example", ReportOnly: true})
	if d, _ := e.eng.CheckEmail(e.ctx(), nil, "x@a.trial.example"); !d.Allowed || !d.ReportOnly || d.Action != core.ActionDomainBlock {
		t.Fatalf("report-only domain rule: %+v", d)
	}
	if d, _ := e.eng.CheckEmail(e.ctx(), nil, "x@spam.example"); d.Allowed {
		t.Fatal("an enforcing rule let through after a report-only one was added")
	}
	var would int
	for _, ev := range e.events() {
		if ev.Action == core.ActionWouldBlock && ev.Details == string(core.ActionDomainBlock) {
			would++
		}
	}
	if would != 1 {
		t.Fatalf("%d WOULD_BLOCK events for the report-only domain; want 1", would)
	}
}

func TestCheckEmailProviderRules(t *testing.T) {
	for _, on := range []bool{false, true} {
		opts := []core.Option{}
		if on {
			opts = append(opts, core.WithEmailProviderRules())
		}
		e := newEnv(t, opts...)
		put(e, e.eng.Rules().BlockedEmails(), rule.BlockedEmail{Email: "j.doe+signup@gmail.com"})
		put(e, e.eng.Rules().BlockedEmails(), rule.BlockedEmail{Email: "bob@outlook.com"})
		for _, addr := range []string{"jdoe@gmail.com", "J.D.O.E+x@googlemail.com", "bob+tag@outlook.com"} {
			d, _ := e.eng.CheckEmail(e.ctx(), nil, addr)
			if d.Allowed == on && addr != "J.D.O.E+x@googlemail.com" {
				t.Errorf("provider rules %v: %s allowed %v", on, addr, d.Allowed)
			}
		}
		if d, _ := e.eng.CheckEmail(e.ctx(), nil, "j.doe+signup@gmail.com"); d.Allowed {
			t.Errorf("provider rules %v: the stored address itself allowed", on)
		}
		if d, _ := e.eng.CheckEmail(e.ctx(), nil, "j.doe@example.com"); !d.Allowed {
			t.Errorf("provider rules %v: dots dropped outside gmail", on)
		}
	}
}

func TestCheckEmailEventNamesRequest(t *testing.T) {
	e := newEnv(t)
	put(e, e.eng.Rules().BlockedDomains(), rule.BlockedDomain{Domain: "spam.example"})
	r := request("3.3.3.3", "/signup", method(http.MethodPost))
	if d, _ := e.eng.CheckEmail(e.ctx(), r, "x@spam.example"); d.Allowed || d.ClientIP.String() != "3.3.3.3" {
		t.Fatalf("decision %+v", d)
	}
	evs := e.events()
	if len(evs) != 1 || evs[0].IP != "3.3.3.3" || evs[0].Path != "/signup" || evs[0].UserEmail != "x@spam.example" {
		t.Fatalf("events %+v", evs)
	}
}

// emailEngine loads 200,000 blocked domains and 100,000 blocked addresses.
func emailEngine(tb testing.TB) *core.Engine {
	tb.Helper()
	st := memstore.New()
	ctx := tb.Context()
	for i := range 200_000 {
		if _, err := st.BlockedDomains().Put(ctx, rule.BlockedDomain{Domain: fmt.Sprintf("d%d.disposable.example", i)}); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range 100_000 {
		if _, err := st.BlockedEmails().Put(ctx, rule.BlockedEmail{Email: fmt.Sprintf("user%d@example.org", i)}); err != nil {
			tb.Fatal(err)
		}
	}
	eng, err := core.New(st, quiet)
	if err != nil {
		tb.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = eng.Close(ctx) })
	return eng
}

func TestCheckEmailAllocs(t *testing.T) {
	eng := emailEngine(t)
	ctx := t.Context()
	for _, addr := range []string{"Alice.Smith@Mail.Example.COM", "someone@sub.d7.disposable.example.net"} {
		if n := testing.AllocsPerRun(1000, func() {
			if d, _ := eng.CheckEmail(ctx, nil, addr); !d.Allowed {
				t.Fatal("denied")
			}
		}); n != 0 {
			t.Errorf("CheckEmail(%s) allocates %v times; want 0", addr, n)
		}
	}
	if d, _ := eng.CheckEmail(ctx, nil, "x@a.d199999.disposable.example"); d.Allowed {
		t.Fatal("a sub-domain of the last blocked domain allowed")
	}
}

func BenchmarkCheckEmail(b *testing.B) {
	eng := emailEngine(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if d, _ := eng.CheckEmail(ctx, nil, "Alice.Smith@mail.example.com"); !d.Allowed {
			b.Fatal("denied")
		}
	}
}

// Before a snapshot is loaded, CheckEmail follows the fail policy as Check does.
func TestCheckEmailFailPolicy(t *testing.T) {
	for _, c := range []struct {
		opts    []core.Option
		allowed bool
		status  int
	}{
		{nil, false, 503},
		{[]core.Option{core.WithFailPolicy(core.FailOpen)}, true, 0},
	} {
		eng, err := core.New(memstore.New(), append(c.opts, quiet)...)
		if err != nil {
			t.Fatal(err)
		}
		d, err := eng.CheckEmail(t.Context(), nil, "a@example.com")
		if !errors.Is(err, core.ErrNotStarted) || d.Allowed != c.allowed || d.Status != c.status || eng.Stats().FailPolicyTrips != 1 {
			t.Fatalf("not started: %+v, %v, trips %d; want allowed=%v status %d and one trip", d, err, eng.Stats().FailPolicyTrips, c.allowed, c.status)
		}
	}
}
