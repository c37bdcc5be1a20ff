package bunstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// bun writes every value into the SQL text: it quotes strings itself instead
// of sending bound parameters. That text is only as safe as the session that
// reads it. On MySQL a multi-byte client charset such as gbk, big5 or sjis
// can swallow the backslash bun puts before a quote (0xAD of "中" and 0x5C
// make one GBK character), leaving the quote bare; on PostgreSQL with
// standard_conforming_strings=off a backslash escapes the quote that bun
// doubled. Either way a User-Agent or a rule's text becomes SQL. So the store
// talks to MySQL in utf8mb4 and to PostgreSQL in UTF8 with
// standard_conforming_strings=on, refuses a DSN that asks otherwise, sets
// these on every connection, and checks them on every new connection of the
// pool before it is used: a server or role default that says otherwise fails
// the connection (and so Open) rather than leaving a hole.

// mysqlCollation is the collation a MySQL connection uses when the DSN names
// none: the driver's handshake default, kept so that SET NAMES changes
// nothing but the charset guarantee.
const mysqlCollation = "utf8mb4_general_ci"

// unquote strips one pair of quotes a system variable's value may carry in a
// DSN ("sql_mode='ANSI'").
func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	return strings.TrimSpace(v)
}

// checkMySQLParams refuses the parameters of a mysql:// URL that would make
// bun's quoting unsafe or its values change on the way: a charset, collation
// or character_set_* / collation_* variable other than utf8mb4, and a
// sql_mode with NO_BACKSLASH_ESCAPES (bun doubles backslashes, which that
// mode would store twice), and a value that smuggles in a charset setting.
// The check of every connection (checkMySQLSession) backs this up.
func checkMySQLParams(q url.Values) error {
	for name, vs := range q {
		lname := strings.ToLower(name)
		for _, v := range vs {
			val := strings.ToLower(unquote(v))
			var need string
			switch {
			case (lname == "charset" || strings.HasPrefix(lname, "character_set")) && val != "utf8mb4":
				need = "a utf8mb4 connection"
			case (lname == "collation" || strings.HasPrefix(lname, "collation_")) && !strings.HasPrefix(val, "utf8mb4_"):
				need = "a utf8mb4 collation"
			case lname == "sql_mode" && strings.Contains(strings.ToUpper(v), "NO_BACKSLASH_ESCAPES"):
				need = "backslash escapes (bun doubles every backslash)"
			case strings.Contains(val, "character_set") || strings.Contains(val, "collation") || strings.Contains(val, "names"):
				// The driver sends "SET name=value" as written, so a value
				// can set another variable ("autocommit=1,character_set_client=gbk").
				need = "the charset set by its own parameters"
			}
			if need != "" {
				return fmt.Errorf("%s=%s is refused: warden needs %s, because bun writes values into the SQL text", name, v, need)
			}
		}
	}
	return nil
}

// mysqlConnector checks every new connection of the pool before
// database/sql hands it out.
type mysqlConnector struct{ driver.Connector }

func (c mysqlConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkMySQLSession(ctx, conn); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

// checkMySQLSession reads the session's charsets and sql_mode.
func checkMySQLSession(ctx context.Context, conn driver.Conn) error {
	q, ok := conn.(driver.QueryerContext)
	if !ok {
		return errors.New("the MySQL driver cannot query a new connection to check its charset")
	}
	rows, err := q.QueryContext(ctx, "SELECT @@character_set_client, @@character_set_connection, @@character_set_results, @@sql_mode", nil)
	if err != nil {
		return fmt.Errorf("checking the connection's charset: %w", err)
	}
	defer rows.Close()
	vals := make([]driver.Value, 4)
	if err := rows.Next(vals); err != nil {
		if err == io.EOF {
			err = errors.New("no row")
		}
		return fmt.Errorf("checking the connection's charset: %w", err)
	}
	names := [...]string{"character_set_client", "character_set_connection", "character_set_results"}
	for i, name := range names {
		if got := valueText(vals[i]); got != "utf8mb4" {
			return errorf(ErrUnsafeSession, "%s is %q after SET NAMES utf8mb4 (a server setting such as init_connect changes it); "+
				"warden needs utf8mb4 because bun writes values into the SQL text", name, got)
		}
	}
	if mode := valueText(vals[3]); strings.Contains(strings.ToUpper(mode), "NO_BACKSLASH_ESCAPES") {
		return errorf(ErrUnsafeSession, "sql_mode %q has NO_BACKSLASH_ESCAPES, which would store every backslash twice", mode)
	}
	return nil
}

func valueText(v driver.Value) string {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case string:
		return v
	case nil:
		return "NULL"
	default:
		return fmt.Sprint(v)
	}
}

// pgSession is what every PostgreSQL connection must report.
var pgSession = [...]struct{ name, value string }{
	{"standard_conforming_strings", "on"},
	{"client_encoding", "UTF8"},
}

// checkPostgresParams refuses the runtime parameters of a postgres:// URL (or
// of PGOPTIONS) that would make bun's quoting unsafe, then sets
// standard_conforming_strings=on and client_encoding=UTF8 in the startup
// packet, which overrides a default set on the server, database or role.
func checkPostgresParams(params map[string]string) error {
	for name, v := range params {
		var ok bool
		switch strings.ToLower(name) {
		case "standard_conforming_strings":
			ok = strings.EqualFold(strings.TrimSpace(v), "on")
		case "client_encoding":
			enc := strings.ToUpper(strings.NewReplacer("-", "", "_", "", "'", "", " ", "").Replace(v))
			ok = enc == "UTF8" || enc == "UNICODE"
		case "options":
			// -c name=value, --name=value; PostgreSQL reads dashes in a name
			// as underscores and a backslash as an escape.
			o := strings.ToLower(strings.NewReplacer("-", "_", `\`, "").Replace(v))
			ok = !strings.Contains(o, "standard_conforming_strings") && !strings.Contains(o, "client_encoding")
		default:
			ok = true
		}
		if !ok {
			return fmt.Errorf("%s=%s is refused: warden needs standard_conforming_strings=on and client_encoding=UTF8, "+
				"because bun writes values into the SQL text", name, v)
		}
	}
	for _, p := range pgSession {
		params[p.name] = p.value
	}
	return nil
}

// checkPostgresSession is pgx's AfterConnect hook: it runs on every new
// connection of the pool. The server reports both settings at start-up
// (ParameterStatus), so the check costs no round trip; a server that did
// not is asked. pgx does not close a connection its hook refuses, so the
// hook does.
func checkPostgresSession(ctx context.Context, conn *pgx.Conn) (err error) {
	defer func() {
		if err != nil {
			_ = conn.Close(ctx)
		}
	}()
	for _, p := range pgSession {
		got := conn.PgConn().ParameterStatus(p.name)
		if got == "" {
			if err := conn.QueryRow(ctx, "SELECT current_setting($1)", p.name).Scan(&got); err != nil {
				return fmt.Errorf("checking %s: %w", p.name, err)
			}
		}
		if got != p.value {
			return errorf(ErrUnsafeSession, "%s is %q on a new connection, want %q, because bun writes values into the SQL text",
				p.name, got, p.value)
		}
	}
	return nil
}
