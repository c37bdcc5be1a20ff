package redisstore

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ErrInvalidURL is wrapped by the error of ParseURL.
var ErrInvalidURL = errors.New("redisstore: invalid Redis URL")

// Default ports of the host lists of ParseURL.
const (
	defaultRedisPort    = "6379"
	defaultSentinelPort = "26379"
)

// ParseURL returns a client for the Redis that rawURL names: one server,
// a Cluster or a Sentinel-managed master. It does no I/O; the client dials
// at its first command.
//
//	redis://[[user]:password@]host[:port][/db][?option=value&…]                one server (*redis.Client)
//	unix://[[user]:password@]/path/to/socket[?db=N&…]                          one server on a unix socket
//	redis+cluster://[[user]:password@]host:port[,host:port…][?option=value&…]  a Cluster (*redis.ClusterClient)
//	redis+sentinel://[[user]:password@]host:port[,host:port…]/master[/db][?…]  the master named by Sentinels (*redis.Client)
//
// rediss://, rediss+cluster:// and rediss+sentinel:// use TLS. A port left
// out is 6379, or 26379 for a Sentinel. The user and password are those of
// the data nodes (":password@" gives a password alone); Sentinels that ask
// for their own take the sentinel_username and sentinel_password options.
// A Cluster has only database 0. The options are go-redis's, in snake case
// (dial_timeout=3s, read_timeout, pool_size, max_retries, …; see
// redis.ParseURL); an unknown one is refused. go-redis's own multi-address
// forms are accepted with go-redis's meaning: redis://host:port?addr=host2:port2
// (a Cluster) and redis://host:port?master_name=NAME&addr=… (a Sentinel, the
// user and password being the Sentinels').
//
// Characters of the password outside letters, digits and -._~ should be
// percent-encoded ('@' as %40, '/' as %2F, '?' as %3F, '#' as %23). Errors
// wrap ErrInvalidURL, name the part that is wrong, and never contain the
// password: host values are quoted only when the URL has no '@' at all.
func ParseURL(rawURL string) (redis.UniversalClient, error) {
	o, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	switch {
	case o.cluster != nil:
		return redis.NewClusterClient(o.cluster), nil
	case o.failover != nil:
		return redis.NewFailoverClient(o.failover), nil
	}
	return redis.NewClient(o.single), nil
}

// urlOptions is what a URL asks for: exactly one field is set.
type urlOptions struct {
	single   *redis.Options
	cluster  *redis.ClusterOptions
	failover *redis.FailoverOptions
}

// redisURL is a URL split into its parts, the userinfo decoded.
type redisURL struct {
	scheme     string // lower case, without "://"
	tls        bool
	user, pass string
	hosts      []string // the host part split on commas, as written
	path       string   // from the '/' after the hosts; "" when none
	query      url.Values
	quote      bool // no '@' in the URL: host values may be shown
	stray      bool // an '@' outside the authority: a password with an unencoded '/' or '?'
}

func parseURL(raw string) (*urlOptions, error) {
	u, err := splitURL(raw)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.HasSuffix(u.scheme, "+cluster"):
		return u.clusterOptions()
	case strings.HasSuffix(u.scheme, "+sentinel"):
		return u.failoverOptions()
	case u.scheme == "unix":
		return u.unixOptions()
	case u.query.Has("master_name"), u.query.Has("addr"):
		return u.goRedisForm()
	}
	return u.singleOptions()
}

// invalid returns ParseURL's error: "redisstore: ParseURL: <problem>".
func invalid(format string, args ...any) error {
	return errorf(ErrInvalidURL, "redisstore: ParseURL: "+format, args...)
}

var schemes = map[string]bool{"redis": true, "rediss": true, "unix": true, "redis+cluster": true,
	"rediss+cluster": true, "redis+sentinel": true, "rediss+sentinel": true}

// splitURL cuts raw into scheme, userinfo, hosts, path and query. The
// authority ends at the first '/', '?' or '#' (RFC 3986); the userinfo at
// the last '@' in it.
func splitURL(raw string) (*redisURL, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || strings.ContainsAny(scheme, "@/?#:") {
		return nil, invalid("no scheme: want redis://, rediss://, unix://, redis+cluster:// or redis+sentinel://")
	}
	u := &redisURL{scheme: strings.ToLower(scheme), quote: !strings.Contains(raw, "@")}
	if !schemes[u.scheme] {
		return nil, invalid("scheme %q: want redis, rediss, unix, redis+cluster, rediss+cluster, redis+sentinel or rediss+sentinel", scheme)
	}
	u.tls = strings.HasPrefix(u.scheme, "rediss")
	if strings.Contains(rest, "#") {
		return nil, invalid("a '#' (a fragment, or an unencoded '#' in the password: write it %%23)")
	}
	rest, rawQuery, _ := strings.Cut(rest, "?")
	end := strings.IndexByte(rest, '/')
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	u.path = rest[end:]
	at := strings.LastIndexByte(authority, '@')
	u.stray = at < 0 && !u.quote
	if at >= 0 {
		userinfo := authority[:at]
		authority = authority[at+1:]
		name, pass, _ := strings.Cut(userinfo, ":")
		var err1, err2 error
		u.user, err1 = url.PathUnescape(name)
		u.pass, err2 = url.PathUnescape(pass)
		if err1 != nil || err2 != nil {
			return nil, invalid("the user or password is not valid percent-encoding (write '%%' as %%25)")
		}
	}
	if authority != "" {
		u.hosts = strings.Split(authority, ",")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, invalid("the options after '?' are not valid URL encoding")
	}
	u.query = q
	return u, nil
}

// invalidPart is invalid for a host or path problem, with a hint when an
// '@' was found past the hosts.
func (u *redisURL) invalidPart(format string, args ...any) error {
	if u.stray {
		format += " (an '@' follows: write '/' as %%2F and '?' as %%3F in a password)"
	}
	return invalid(format, args...)
}

// hostPort checks host i (0-based) and adds the default port when it has
// none. IPv6 addresses are written in brackets.
func (u *redisURL) hostPort(i int, defPort string) (string, error) {
	h := u.hosts[i]
	what := fmt.Sprintf("host %d of %d", i+1, len(u.hosts))
	if u.quote {
		what += fmt.Sprintf(" (%q)", h)
	}
	if h == "" {
		return "", u.invalidPart("%s is empty", what)
	}
	hasPort := strings.Count(h, ":") == 1 || (strings.HasPrefix(h, "[") && strings.Contains(h, "]:"))
	if strings.Count(h, ":") > 1 && !strings.HasPrefix(h, "[") {
		return "", u.invalidPart("%s: an IPv6 address is written in brackets: [::1]:6379", what)
	}
	if !hasPort {
		h = net.JoinHostPort(strings.Trim(h, "[]"), defPort)
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil || host == "" {
		return "", u.invalidPart("%s is not host:port", what)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", u.invalidPart("%s: the port is not a number from 1 to 65535", what)
	}
	return net.JoinHostPort(host, port), nil
}

// addrs checks every host; at least one is required.
func (u *redisURL) addrs(defPort string) ([]string, error) {
	if len(u.hosts) == 0 {
		return nil, invalid("%s:// needs at least one host:port", u.scheme)
	}
	out := make([]string, len(u.hosts))
	for i := range u.hosts {
		a, err := u.hostPort(i, defPort)
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// db checks a database number path segment.
func (u *redisURL) db(seg string) error {
	if n, err := strconv.Atoi(seg); err != nil || n < 0 {
		if u.quote {
			return u.invalidPart("the database number in the path (%q) is not a number from 0", seg)
		}
		return u.invalidPart("the database number in the path is not a number from 0")
	}
	return nil
}

// segments splits the path on '/', without empty segments.
func (u *redisURL) segments() []string {
	return strings.FieldsFunc(u.path, func(r rune) bool { return r == '/' })
}

// base is the URL go-redis is given: first host, no userinfo, the options.
func (u *redisURL) base(host, path string) *url.URL {
	scheme := "redis"
	if u.tls {
		scheme = "rediss"
	}
	return &url.URL{Scheme: scheme, Host: host, Path: path, RawQuery: u.query.Encode()}
}

func (u *redisURL) singleOptions() (*urlOptions, error) {
	host := "localhost:" + defaultRedisPort
	if len(u.hosts) > 1 {
		return nil, invalid("%s:// takes one host; for a Cluster write redis+cluster://host:port,host:port", u.scheme)
	}
	if len(u.hosts) == 1 {
		var err error
		if host, err = u.hostPort(0, defaultRedisPort); err != nil {
			return nil, err
		}
	}
	seg := u.segments()
	if len(seg) > 1 {
		return nil, invalid("the path holds more than a database number")
	}
	path := ""
	if len(seg) == 1 {
		if err := u.db(seg[0]); err != nil {
			return nil, err
		}
		path = "/" + seg[0]
	}
	o, err := goRedis(u, redis.ParseURL, u.base(host, path))
	if err != nil {
		return nil, err
	}
	o.Username, o.Password = u.user, u.pass
	return &urlOptions{single: o}, nil
}

func (u *redisURL) unixOptions() (*urlOptions, error) {
	if len(u.hosts) > 0 {
		return nil, invalid("unix:// takes a socket path, not a host: unix:///path/to/redis.sock")
	}
	if u.path == "" || u.path == "/" {
		return nil, invalid("unix:// needs the socket's path: unix:///path/to/redis.sock")
	}
	o, err := goRedis(u, redis.ParseURL, &url.URL{Scheme: "unix", Path: u.path, RawQuery: u.query.Encode()})
	if err != nil {
		return nil, err
	}
	o.Username, o.Password = u.user, u.pass
	return &urlOptions{single: o}, nil
}

func (u *redisURL) clusterOptions() (*urlOptions, error) {
	addrs, err := u.addrs(defaultRedisPort)
	if err != nil {
		return nil, err
	}
	if seg := u.segments(); len(seg) > 1 || (len(seg) == 1 && seg[0] != "0") {
		return nil, invalid("a Cluster has only database 0; remove the path")
	}
	if u.query.Has("addr") {
		return nil, invalid("the addr option: list every node in the host part, comma-separated")
	}
	for _, a := range addrs[1:] {
		u.query.Add("addr", a)
	}
	o, err := goRedis(u, redis.ParseClusterURL, u.base(addrs[0], ""))
	if err != nil {
		return nil, err
	}
	o.Username, o.Password = u.user, u.pass
	return &urlOptions{cluster: o}, nil
}

func (u *redisURL) failoverOptions() (*urlOptions, error) {
	addrs, err := u.addrs(defaultSentinelPort)
	if err != nil {
		return nil, err
	}
	seg := u.segments()
	if len(seg) == 0 || len(seg) > 2 {
		return nil, invalid("%s:// needs the master's name in the path: /master or /master/db", u.scheme)
	}
	master, err := url.PathUnescape(seg[0])
	if err != nil || master == "" {
		return nil, invalid("the master name in the path is not valid percent-encoding")
	}
	path := ""
	if len(seg) == 2 {
		if err := u.db(seg[1]); err != nil {
			return nil, err
		}
		path = "/" + seg[1]
	}
	for _, k := range []string{"addr", "master_name", "username", "password"} {
		if u.query.Has(k) {
			return nil, invalid("the %s option: %s:// takes the Sentinels in the host part, the master in the path and its credentials before '@'", k, u.scheme)
		}
	}
	sentUser, sentPass := u.query.Get("sentinel_username"), u.query.Get("sentinel_password")
	u.query.Del("sentinel_username")
	u.query.Del("sentinel_password")
	u.query.Set("master_name", master)
	for _, a := range addrs[1:] {
		u.query.Add("addr", a)
	}
	o, err := goRedis(u, redis.ParseFailoverURL, u.base(addrs[0], path), sentPass)
	if err != nil {
		return nil, err
	}
	o.Username, o.Password = u.user, u.pass
	o.SentinelUsername, o.SentinelPassword = sentUser, sentPass
	return &urlOptions{failover: o}, nil
}

// goRedisForm parses go-redis's own multi-address forms: addr=… options
// give a Cluster, master_name=… a Sentinel (the userinfo then being the
// Sentinels', as go-redis reads it).
func (u *redisURL) goRedisForm() (*urlOptions, error) {
	if len(u.hosts) > 1 {
		return nil, invalid("further hosts go either after the first, comma-separated, with redis+cluster:// or redis+sentinel://, or in addr options; not both")
	}
	host := "localhost:" + defaultRedisPort
	if len(u.hosts) == 1 {
		var err error
		if host, err = u.hostPort(0, defaultRedisPort); err != nil {
			return nil, err
		}
	}
	if u.query.Has("master_name") {
		o, err := goRedis(u, redis.ParseFailoverURL, u.base(host, u.path), u.query.Get("password"))
		if err != nil {
			return nil, err
		}
		o.SentinelUsername, o.SentinelPassword = u.user, u.pass
		return &urlOptions{failover: o}, nil
	}
	if seg := u.segments(); len(seg) > 1 || (len(seg) == 1 && seg[0] != "0") {
		return nil, invalid("a Cluster has only database 0; remove the path")
	}
	o, err := goRedis(u, redis.ParseClusterURL, u.base(host, ""))
	if err != nil {
		return nil, err
	}
	o.Username, o.Password = u.user, u.pass
	return &urlOptions{cluster: o}, nil
}

// goRedis runs one of go-redis's parsers on target (which holds no
// userinfo) and words its error as ParseURL's, with the password and
// the secrets given replaced by "xxxxx" should go-redis have quoted them.
func goRedis[T any](u *redisURL, parse func(string) (T, error), target *url.URL, secrets ...string) (T, error) {
	o, err := parse(target.String())
	if err == nil {
		return o, nil
	}
	msg := strings.TrimPrefix(err.Error(), "redis: ")
	for _, s := range append(secrets, u.pass) {
		if s == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, s, "xxxxx")
		msg = strings.ReplaceAll(msg, url.QueryEscape(s), "xxxxx")
	}
	return o, invalid("options: %s", msg)
}
