package redisstore

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// summary is what a test compares of parsed options.
type summary struct {
	kind, network string
	addrs         []string
	db            int
	user, pass    string
	master        string
	sentUser      string
	sentPass      string
	tls           bool
	dialTimeout   time.Duration
	poolSize      int
}

func summarize(o *urlOptions) summary {
	switch {
	case o.cluster != nil:
		c := o.cluster
		return summary{kind: "cluster", addrs: c.Addrs, user: c.Username, pass: c.Password, tls: c.TLSConfig != nil,
			dialTimeout: c.DialTimeout, poolSize: c.PoolSize}
	case o.failover != nil:
		f := o.failover
		return summary{kind: "sentinel", addrs: f.SentinelAddrs, db: f.DB, user: f.Username, pass: f.Password,
			master: f.MasterName, sentUser: f.SentinelUsername, sentPass: f.SentinelPassword, tls: f.TLSConfig != nil,
			dialTimeout: f.DialTimeout, poolSize: f.PoolSize}
	}
	s := o.single
	return summary{kind: "single", network: s.Network, addrs: []string{s.Addr}, db: s.DB, user: s.Username, pass: s.Password,
		tls: s.TLSConfig != nil, dialTimeout: s.DialTimeout, poolSize: s.PoolSize}
}

func TestParseURLForms(t *testing.T) {
	tests := []struct {
		name, url string
		want      summary
	}{
		{"single_default_port", "redis://127.0.0.1",
			summary{kind: "single", network: "tcp", addrs: []string{"127.0.0.1:6379"}}},
		{"single_no_host_is_localhost", "redis://",
			summary{kind: "single", network: "tcp", addrs: []string{"localhost:6379"}}},
		{"single_user_password_db", "redis://alice:p%40ss%2Fw@cache.internal:6380/3",
			summary{kind: "single", network: "tcp", addrs: []string{"cache.internal:6380"}, db: 3, user: "alice", pass: "p@ss/w"}},
		{"single_password_alone", "redis://:secret@h:6379/0",
			summary{kind: "single", network: "tcp", addrs: []string{"h:6379"}, pass: "secret"}},
		{"single_tls_and_options", "rediss://h:6380?dial_timeout=3s&pool_size=7",
			summary{kind: "single", network: "tcp", addrs: []string{"h:6380"}, tls: true, dialTimeout: 3 * time.Second, poolSize: 7}},
		{"single_ipv6", "redis://[::1]:7000/1",
			summary{kind: "single", network: "tcp", addrs: []string{"[::1]:7000"}, db: 1}},
		{"single_ipv6_default_port", "redis://[::1]",
			summary{kind: "single", network: "tcp", addrs: []string{"[::1]:6379"}}},
		{"scheme_upper_case", "REDIS://h:1",
			summary{kind: "single", network: "tcp", addrs: []string{"h:1"}}},
		{"unix_socket", "unix://:pw@/run/redis.sock?db=2",
			summary{kind: "single", network: "unix", addrs: []string{"/run/redis.sock"}, db: 2, pass: "pw"}},
		{"cluster_three_nodes", "redis+cluster://:pw@127.0.0.1:7001,127.0.0.1:7002,[::1]:7003?dial_timeout=2s",
			summary{kind: "cluster", addrs: []string{"127.0.0.1:7001", "127.0.0.1:7002", "[::1]:7003"}, pass: "pw", dialTimeout: 2 * time.Second}},
		{"cluster_one_seed_default_port", "redis+cluster://seed.internal",
			summary{kind: "cluster", addrs: []string{"seed.internal:6379"}}},
		{"cluster_tls_db0", "rediss+cluster://u:p@h1:7001,h2:7002/0",
			summary{kind: "cluster", addrs: []string{"h1:7001", "h2:7002"}, user: "u", pass: "p", tls: true}},
		{"cluster_goredis_addr_form", "redis://:pw@h1:7001?addr=h2:7002&addr=h3:7003",
			summary{kind: "cluster", addrs: []string{"h1:7001", "h2:7002", "h3:7003"}, pass: "pw"}},
		{"sentinel_master_and_db", "redis+sentinel://:pw@s1,s2:26380/mymaster/2?sentinel_password=sp",
			summary{kind: "sentinel", addrs: []string{"s1:26379", "s2:26380"}, db: 2, pass: "pw", master: "mymaster", sentPass: "sp"}},
		{"sentinel_tls_user", "rediss+sentinel://app:pw@s1:26379/prod%2Dcache?sentinel_username=mon",
			summary{kind: "sentinel", addrs: []string{"s1:26379"}, user: "app", pass: "pw", master: "prod-cache", sentUser: "mon", tls: true}},
		{"sentinel_goredis_form", "redis://sen:spw@s1:26379/1?master_name=m&addr=s2:26379",
			summary{kind: "sentinel", addrs: []string{"s1:26379", "s2:26379"}, db: 1, master: "m", sentUser: "sen", sentPass: "spw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseURL(tt.url)
			if err != nil {
				t.Fatalf("parseURL(%q): %v", tt.url, err)
			}
			if got := summarize(o); !equalSummary(got, tt.want) {
				t.Errorf("parseURL(%q)\n got %+v\nwant %+v", tt.url, got, tt.want)
			}
		})
	}
}

func equalSummary(a, b summary) bool {
	return slices.Equal(a.addrs, b.addrs) && fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b)
}

// Bad URLs: each error wraps ErrInvalidURL, names the part, and never shows
// the password, even when the password is what made the URL bad.
func TestParseURLRefuses(t *testing.T) {
	const pw = "Sw0rdf1sh"
	tests := []struct{ name, url, want string }{
		{"no_scheme", "127.0.0.1:6379", "no scheme"},
		{"unknown_scheme", "http://h:6379", `scheme "http"`},
		{"port_not_number", "redis://h:abc", `host 1 of 1 ("h:abc"): the port is not a number`},
		{"port_out_of_range", "redis+cluster://h1:7001,h2:70000", `host 2 of 2 ("h2:70000"): the port`},
		{"empty_cluster_host", "redis+cluster://h1:7001,,h3:7003", "host 2 of 3"},
		{"cluster_without_host", "redis+cluster://", "needs at least one host:port"},
		{"cluster_with_db", "redis+cluster://h1:7001/2", "only database 0"},
		{"cluster_addr_option", "redis+cluster://h1:7001?addr=h2:7002", "the addr option"},
		{"goredis_cluster_with_db", "redis://h1:7001/3?addr=h2:7002", "only database 0"},
		{"both_host_forms", "redis://h1:1,h2:2?addr=h3:3", "not both"},
		{"single_two_hosts", "redis://h1:7001,h2:7002", "takes one host"},
		{"ipv6_without_brackets", "redis://::1:6379", "in brackets"},
		{"db_not_number", "redis://h/x", `database number in the path ("x")`},
		{"path_too_long", "redis://h/1/2", "more than a database number"},
		{"sentinel_without_master", "redis+sentinel://s1:26379", "master's name"},
		{"sentinel_master_option", "redis+sentinel://s1/m?master_name=n", "the master_name option"},
		{"unknown_option", "redis://h?pool_sise=3", "options: unexpected option: pool_sise"},
		{"bad_duration", "redis://h?dial_timeout=soon", "options: invalid dial_timeout duration"},
		{"unix_with_host", "unix://h/run/r.sock", "socket path"},
		{"unix_without_path", "unix://", "socket's path"},
		{"password_bad_escape", "redis://u:" + pw + "%zz@h:6379", "not valid percent-encoding"},
		{"password_with_hash", "redis://u:" + pw + "#1@h:6379", "'#'"},
		{"password_with_slash", "redis://u:" + pw + "/1@h:6379", "host 1 of 1: "},
		{"password_with_slash_db", "redis://h:6379/x/" + pw + "@", "more than a database number"},
		{"password_then_bad_port", "redis://u:" + pw + "@h:" + pw, "host 1 of 1: the port"},
		{"password_then_bad_db", "redis://u:" + pw + "@h/" + pw, "database number in the path is not"},
		{"password_in_goredis_option", "redis://s1?master_name=m&password=" + pw + "&bogus=1", "unexpected option: bogus"},
		{"password_then_bad_option", "redis://:" + pw + "@h?dial_timeout=" + pw, "xxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseURL(tt.url)
			if err == nil {
				c.Close()
				t.Fatalf("ParseURL(%q) = nil error", tt.url)
			}
			msg := err.Error()
			if !errors.Is(err, ErrInvalidURL) || !strings.HasPrefix(msg, "redisstore: ParseURL: ") {
				t.Errorf("error %q: want a 'redisstore: ParseURL: ' error wrapping ErrInvalidURL", msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not contain %q", msg, tt.want)
			}
			if strings.Contains(msg, pw) || strings.Contains(msg, "Sw0rd") {
				t.Errorf("error %q shows the password", msg)
			}
		})
	}
}

// ParseURL gives the client go-redis would build for the form.
func TestParseURLClientTypes(t *testing.T) {
	for u, want := range map[string]string{
		"redis://127.0.0.1:6379/0":                                  "*redis.Client",
		"redis+cluster://127.0.0.1:7001,127.0.0.1:7002":             "*redis.ClusterClient",
		"redis+sentinel://127.0.0.1:26379/mymaster":                 "*redis.Client",
		"redis://127.0.0.1:7001?addr=127.0.0.1:7002&addr=127.0.0.1": "",
	} {
		c, err := ParseURL(u)
		if want == "" {
			if err == nil {
				c.Close()
				t.Errorf("ParseURL(%q): want an error for the addr without a port", u)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseURL(%q): %v", u, err)
		}
		if got := fmt.Sprintf("%T", c); got != want {
			t.Errorf("ParseURL(%q) is a %s, want %s", u, got, want)
		}
		_ = c.Close()
	}
}

// Whatever the input, ParseURL returns a client or an error wrapping
// ErrInvalidURL, and an error never shows a password of six characters
// or more that appears nowhere else in the URL.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"redis://h:1/2", "redis+cluster://a:1,b:2", "redis+sentinel://s/m/1", "unix:///s?db=1",
		"redis://h?addr=b:2", "rediss://u:p@h:1?dial_timeout=x"} {
		f.Add(s, "pa$$word!")
	}
	f.Fuzz(func(t *testing.T, rest, pw string) {
		for _, raw := range []string{rest, "redis://u:" + pw + "@" + strings.TrimPrefix(rest, "redis://")} {
			c, err := ParseURL(raw)
			if err == nil {
				_ = c.Close()
				continue
			}
			if !errors.Is(err, ErrInvalidURL) {
				t.Fatalf("ParseURL(%q): %v does not wrap ErrInvalidURL", raw, err)
			}
			if raw != rest && len(pw) >= 6 && !strings.Contains(rest, pw) && !strings.Contains("redisstore: ParseURL: ", pw) &&
				strings.Contains(err.Error(), pw) {
				t.Fatalf("ParseURL(%q): %q shows the password", raw, err)
			}
		}
	})
}

func ExampleParseURL() {
	for _, u := range []string{
		"redis://:secret@127.0.0.1:6379/0",
		"redis+cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
		"redis+cluster://127.0.0.1:7001,127.0.0.1:x",
	} {
		rdb, err := ParseURL(u) // no I/O: the client dials at its first command
		if err != nil {
			fmt.Println(err)
			continue
		}
		switch c := rdb.(type) {
		case *redis.ClusterClient:
			fmt.Println("cluster", c.Options().Addrs)
		case *redis.Client:
			fmt.Println("one server", c.Options().Addr)
		}
		_ = rdb.Close()
	}
	// Output:
	// one server 127.0.0.1:6379
	// cluster [127.0.0.1:7001 127.0.0.1:7002 127.0.0.1:7003]
	// redisstore: ParseURL: host 2 of 2 ("127.0.0.1:x"): the port is not a number from 1 to 65535
}
