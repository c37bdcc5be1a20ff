package bunstore

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/driver/sqliteshim"
)

// defaultConnectTimeout bounds a connection attempt to PostgreSQL or MySQL
// when the DSN sets none, so an unreachable server fails Open instead of
// hanging for the operating system's TCP timeout.
const defaultConnectTimeout = 10 * time.Second

// dsn is a parsed data source name.
type dsn struct {
	scheme  string       // as written: sqlite, postgres, postgresql, mysql
	dialect dialect.Name // SQLite, PG or MySQL
	secrets []string     // texts to redact from every error

	sqliteDSN    string // SQLite: driver DSN without our pragmas
	sqliteMemory bool   // SQLite: an in-memory database

	pg    *pgx.ConnConfig // PostgreSQL
	mysql *mysql.Config   // MySQL
}

// parseDSN splits a DSN URL into a driver configuration. Its errors never
// contain the password.
func parseDSN(s string) (*dsn, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || scheme == "" {
		return nil, errors.New("DSN has no scheme: want sqlite:, postgres:// or mysql://")
	}
	scheme = strings.ToLower(scheme)
	switch scheme {
	case "sqlite", "sqlite3":
		return parseSQLite(scheme, rest)
	case "postgres", "postgresql":
		return parsePostgres(scheme, s)
	case "mysql", "mariadb":
		return parseMySQL(scheme, s)
	default:
		if !validScheme(scheme) {
			return nil, errors.New("DSN has no scheme: want sqlite:, postgres:// or mysql://")
		}
		return nil, fmt.Errorf("unknown DSN scheme %q: want sqlite, postgres, postgresql or mysql", scheme)
	}
}

// validScheme reports whether s looks like a URL scheme, so that an error
// never echoes text that may be a password (as in "user:pass@host").
func validScheme(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// parseSQLite accepts "sqlite:PATH", "sqlite:file:PATH?query",
// "sqlite:file::memory:?cache=shared", "sqlite::memory:" and
// "sqlite:///abs/path".
func parseSQLite(scheme, rest string) (*dsn, error) {
	if strings.HasPrefix(rest, "//") {
		rest = strings.TrimPrefix(rest, "//") // sqlite:///abs/path -> /abs/path
	}
	path, query, _ := strings.Cut(rest, "?")
	if path == "" || path == "file:" {
		return nil, fmt.Errorf("%s DSN has no file name (want sqlite:file:warden.db)", scheme)
	}
	if _, err := url.ParseQuery(query); err != nil {
		return nil, fmt.Errorf("%s DSN: bad query string: %w", scheme, err)
	}
	mem := path == ":memory:" || strings.HasPrefix(path, "file::memory:") || strings.Contains(query, "mode=memory")
	return &dsn{scheme: scheme, dialect: dialect.SQLite, sqliteDSN: rest, sqliteMemory: mem}, nil
}

// sqliteOpenError explains the failure to open a SQLite file: SQLite says
// "out of memory (14)" when the file's directory does not exist.
func (d *dsn) sqliteOpenError(err error) error {
	if d.sqliteMemory {
		return err
	}
	path, _, _ := strings.Cut(d.sqliteDSN, "?")
	path = strings.TrimPrefix(path, "file:")
	dir := filepath.Dir(path)
	if fi, serr := os.Stat(dir); serr != nil {
		return fmt.Errorf("cannot create %s: the directory %s does not exist; create it or choose another path", path, dir)
	} else if !fi.IsDir() {
		return fmt.Errorf("cannot create %s: %s is not a directory", path, dir)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// urlSecrets returns the password of a URL and of its "password" query
// parameter, raw and decoded, so errors can be scrubbed of every form.
func urlSecrets(raw string) []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
			if d, err := url.QueryUnescape(s); err == nil && d != s {
				out = append(out, d)
			}
		}
	}
	add(rawPassword(raw))
	if _, q, ok := strings.Cut(raw, "?"); ok {
		for kv := range strings.SplitSeq(q, "&") {
			if k, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, "password") {
				add(v)
			}
		}
	}
	return out
}

// rawPassword finds the password in "scheme://user:password@host..." without
// a URL parser, so that even a DSN that fails to parse is redacted. It errs
// on the side of hiding too much: everything from the first ":" after the
// user name to the last "@" of the authority.
func rawPassword(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return ""
	}
	_, pw, ok := strings.Cut(rest[:at], ":")
	if !ok {
		return ""
	}
	return pw
}

func parseURL(scheme, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL, password included
		}
		return nil, fmt.Errorf("%s DSN: %w", scheme, err)
	}
	if u.Host == "" && scheme != "postgres" && scheme != "postgresql" {
		return nil, fmt.Errorf("%s DSN has no host (want %s://user:password@host:port/dbname)", scheme, scheme)
	}
	return u, nil
}

// parsePostgres reads a postgres:// URL with pgx, refusing the settings that
// make bun's quoting unsafe and forcing standard_conforming_strings=on and
// client_encoding=UTF8 (see checkPostgresParams).
func parsePostgres(scheme, raw string) (*dsn, error) {
	d := &dsn{scheme: scheme, dialect: dialect.PG, secrets: urlSecrets(raw)}
	if !strings.HasPrefix(strings.ToLower(raw), scheme+"://") {
		return nil, fmt.Errorf("%s DSN must be a URL: %s://user:password@host:port/dbname", scheme, scheme)
	}
	if _, err := parseURL(scheme, raw); err != nil {
		return nil, d.redact(err)
	}
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		return nil, d.redact(fmt.Errorf("%s DSN: %w", scheme, err))
	}
	if err := checkPostgresParams(cfg.RuntimeParams); err != nil {
		return nil, d.redact(fmt.Errorf("%s DSN: %w", scheme, err))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	if cfg.Password != "" {
		d.secrets = append(d.secrets, cfg.Password)
	}
	d.pg = cfg
	return d, nil
}

// parseMySQL translates mysql://user:pass@host:port/db?params into the
// go-sql-driver configuration, with parseTime=true, loc=UTC, the session
// time zone set to UTC and the charset to utf8mb4 (a DSN asking for another
// is refused, see checkMySQLParams). "?socket=/path" connects through a unix
// socket.
func parseMySQL(scheme, raw string) (*dsn, error) {
	d := &dsn{scheme: scheme, dialect: dialect.MySQL, secrets: urlSecrets(raw)}
	if !strings.HasPrefix(strings.ToLower(raw), scheme+"://") {
		return nil, fmt.Errorf("%s DSN must be a URL: %s://user:password@host:port/dbname", scheme, scheme)
	}
	u, err := parseURL(scheme, raw)
	if err != nil {
		return nil, d.redact(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.Contains(db, "/") {
		return nil, fmt.Errorf("%s DSN needs one database name in its path (%s://user:password@host:port/dbname)", scheme, scheme)
	}
	q := u.Query()
	if err := checkMySQLParams(q); err != nil {
		return nil, d.redact(fmt.Errorf("%s DSN: %w", scheme, err))
	}
	netw, addr := "tcp", u.Host
	if sock := q.Get("socket"); sock != "" {
		netw, addr = "unix", sock
		q.Del("socket")
	} else if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	// Let the driver parse the parameters (tls, timeout, charset, system
	// variables...); the user and password are set afterwards so that they
	// never go through its error messages.
	cfg, err := mysql.ParseDSN(netw + "(" + addr + ")/" + url.PathEscape(db) + "?" + q.Encode())
	if err != nil {
		return nil, d.redact(fmt.Errorf("%s DSN: %w", scheme, err))
	}
	cfg.User = u.User.Username()
	if pw, ok := u.User.Password(); ok {
		cfg.Passwd = pw
		d.secrets = append(d.secrets, pw)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	// SET NAMES on every connection: the handshake's collation alone is
	// ignored by a server started with character-set-client-handshake=OFF.
	coll := cfg.Collation
	if coll == "" {
		coll = mysqlCollation
	}
	if err := cfg.Apply(mysql.Charset("utf8mb4", coll)); err != nil {
		return nil, fmt.Errorf("%s DSN: %w", scheme, err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultConnectTimeout
	}
	d.mysql = cfg
	return d, nil
}

// driverDSN is the DSN handed to the driver; for tests and debugging. It
// holds the password.
func (d *dsn) driverDSN(write bool) string {
	switch d.dialect {
	case dialect.SQLite:
		return sqliteDriverDSN(d.sqliteDSN, write && !d.sqliteMemory, !write && !d.sqliteMemory)
	case dialect.MySQL:
		return d.mysql.FormatDSN()
	default:
		return d.pg.ConnString()
	}
}

// sqliteDriverDSN adds the pragmas warden needs unless the DSN sets them:
// busy_timeout 10 s, foreign keys on, and for a file database WAL with
// synchronous=NORMAL and a 32 MiB page cache (the writer) or query_only (the
// readers). Writes begin
// with BEGIN IMMEDIATE so a transaction never has to upgrade its lock.
func sqliteDriverDSN(base string, writer, reader bool) string {
	path, query, _ := strings.Cut(base, "?")
	q, _ := url.ParseQuery(query) // checked by parseSQLite
	modernc := sqliteshim.DriverName() != "sqlite3"
	have := func(name string) bool {
		if !modernc {
			return q.Has("_" + name)
		}
		for _, p := range q["_pragma"] {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(p)), name) {
				return true
			}
		}
		return false
	}
	set := func(name, value string) {
		if have(name) {
			return
		}
		if modernc {
			q.Add("_pragma", name+"("+value+")")
		} else {
			q.Set("_"+name, value)
		}
	}
	set("busy_timeout", "10000")
	set("foreign_keys", "1")
	if writer {
		set("journal_mode", "WAL")
		set("synchronous", "NORMAL")
		set("cache_size", "-32768") // 32 MiB: index pages of a large events table stay in memory
	}
	if reader {
		set("query_only", "1")
	}
	if !q.Has("_txlock") {
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// redact removes every secret of the DSN from err's text. An error whose
// text held a secret is replaced by a plain error, so that no caller can
// reach the secret through errors.Unwrap either.
func (d *dsn) redact(err error) error {
	return redactErr(err, d.secrets)
}

func redactErr(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	leaks := false
	var walk func(error)
	walk = func(e error) {
		if e == nil || leaks {
			return
		}
		msg := e.Error()
		for _, s := range secrets {
			if s != "" && strings.Contains(msg, s) {
				leaks = true
				return
			}
		}
		switch x := e.(type) {
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	if !leaks {
		return err
	}
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return errors.New(msg)
}

// Redacted returns the DSN with its password replaced by "xxxxx", fit for
// logs. A DSN that does not parse is reduced to its scheme.
func Redacted(dsnText string) string {
	d, err := parseDSN(dsnText)
	if err != nil {
		scheme, _, _ := strings.Cut(dsnText, ":")
		if validScheme(strings.ToLower(scheme)) {
			return scheme + ":xxxxx"
		}
		return "xxxxx"
	}
	if d.dialect == dialect.SQLite {
		return dsnText
	}
	u, err := url.Parse(dsnText)
	if err != nil { // parseDSN accepted it, so this does not happen
		return d.scheme + ":xxxxx"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
