package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"time"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/ruleio"
)

// item is one rule of any kind: its value (a rule.BlockedIP, …) and what
// every page needs of it.
type item struct {
	v      reflect.Value // addressable copy of the rule
	ID     int64
	Key    string
	Active bool
}

func itemOf[T rule.Rule](v T) item {
	rv := reflect.New(reflect.TypeFor[T]()).Elem()
	rv.Set(reflect.ValueOf(v))
	return item{v: rv, ID: v.GetMeta().ID, Key: v.Key(), Active: v.IsActive()}
}

// kindOps is what the pages and the API do with one rule kind; kind[T]
// implements it over core.Table[T].
type kindOps interface {
	spec() *kindSpec
	// scan lists rows in ID order, as core.Query says.
	scan(ctx context.Context, rs core.Rules, q core.Query) ([]item, error)
	byID(ctx context.Context, rs core.Rules, id int64) (item, error)
	get(ctx context.Context, rs core.Rules, key string) (item, error)
	normalize(it item) (item, error)
	blank() item
	put(ctx context.Context, rs core.Rules, it item) (item, error)
	remove(ctx context.Context, rs core.Rules, it item) error
	exportAll(ctx context.Context, rs core.Rules, w io.Writer, f ruleio.Format) (int, error)
	importAll(ctx context.Context, rs core.Rules, r io.Reader, f ruleio.Format) (int, error)
	decodeJSON(base item, data []byte) (item, error)
	// countActive counts the active rules and, among them, the expired:
	// with one query when the table is a core.ActiveCounter, else by
	// reading them in pages.
	countActive(ctx context.Context, rs core.Rules, now time.Time) (active, expired int, err error)
}

type kind[T rule.Rule] struct {
	s     *kindSpec
	table func(core.Rules) core.Table[T]
}

func (k kind[T]) spec() *kindSpec { return k.s }

func (k kind[T]) blank() item { var v T; return itemOf(v) }

func (k kind[T]) scan(ctx context.Context, rs core.Rules, q core.Query) ([]item, error) {
	rows, err := k.table(rs).List(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]item, len(rows))
	for i, r := range rows {
		out[i] = itemOf(r)
	}
	return out, nil
}

// byID finds a row by its ID with one keyset read (the first row after
// id-1), since tables are addressed by key.
func (k kind[T]) byID(ctx context.Context, rs core.Rules, id int64) (item, error) {
	if id < 1 {
		return item{}, errf(400, "bad id %d: ids are positive numbers", id)
	}
	rows, err := k.table(rs).List(ctx, core.Query{AfterID: id - 1, Limit: 1})
	if err != nil {
		return item{}, err
	}
	if len(rows) == 0 || rows[0].GetMeta().ID != id {
		return item{}, errf(404, "no %s with id %d (deleted, or never existed)", k.s.Singular, id)
	}
	return itemOf(rows[0]), nil
}

func (k kind[T]) get(ctx context.Context, rs core.Rules, key string) (item, error) {
	v, err := k.table(rs).Get(ctx, key)
	if err != nil {
		return item{}, err
	}
	return itemOf(v), nil
}

func (k kind[T]) normalize(it item) (item, error) {
	v, err := rule.Normalize(it.v.Interface().(T))
	if err != nil {
		return item{}, err
	}
	return itemOf(v), nil
}

func (k kind[T]) put(ctx context.Context, rs core.Rules, it item) (item, error) {
	got, err := k.table(rs).Put(ctx, it.v.Interface().(T))
	if err != nil {
		return item{}, err
	}
	return itemOf(got), nil
}

func (k kind[T]) remove(ctx context.Context, rs core.Rules, it item) error {
	return k.table(rs).Delete(ctx, it.Key)
}

func (k kind[T]) countActive(ctx context.Context, rs core.Rules, now time.Time) (active, expired int, err error) {
	if c, ok := k.table(rs).(core.ActiveCounter); ok {
		return c.CountActive(ctx, now)
	}
	q := core.Query{ActiveOnly: true, Limit: 10_000}
	for {
		rows, err := k.table(rs).List(ctx, q)
		if err != nil {
			return 0, 0, err
		}
		active += len(rows)
		for _, r := range rows {
			if exp := rule.Expiry(r); !exp.IsZero() && now.After(exp) {
				expired++
			}
		}
		if len(rows) < q.Limit {
			return active, expired, nil
		}
		q.AfterID = rows[len(rows)-1].GetMeta().ID
	}
}

// all reads every row in pages of 1,000, as the CLI does.
func (k kind[T]) all(ctx context.Context, rs core.Rules) ([]T, error) {
	return ruleio.ReadAll(ctx, k.table(rs), core.Query{})
}

func (k kind[T]) exportAll(ctx context.Context, rs core.Rules, w io.Writer, f ruleio.Format) (int, error) {
	rows, err := k.all(ctx, rs)
	if err != nil {
		return 0, err
	}
	return len(rows), ruleio.Export(w, f, rows)
}

// importAll validates every row first and writes nothing unless all are
// valid (ruleio); then it puts them one by one, as the CLI does: a store
// failure part-way leaves the rows before it written, and says how many.
func (k kind[T]) importAll(ctx context.Context, rs core.Rules, r io.Reader, f ruleio.Format) (int, error) {
	rows, err := ruleio.Import[T](r, f)
	if err != nil {
		return 0, err
	}
	tb := k.table(rs)
	for i, v := range rows {
		if _, err := tb.Put(ctx, v); err != nil {
			return i, fmt.Errorf("row with key %q: %w (%d rows before it were imported)", v.Key(), err, i)
		}
	}
	return len(rows), nil
}

// decodeJSON reads a rule's JSON over base: fields absent keep base's
// values; an unknown field or a value of the wrong type is refused.
func (k kind[T]) decodeJSON(base item, data []byte) (item, error) {
	v := base.v.Interface().(T)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return item{}, jsonErr(k.s.Type, err)
	}
	if dec.More() {
		return item{}, errf(400, "the body holds more than one JSON value")
	}
	return itemOf(v), nil
}

// jsonErr turns a decoding error into a 400 or a field error.
func jsonErr(typ string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fieldErr(typ, te.Field, te.Value, "must be a JSON "+te.Type.Kind().String())
	}
	return errf(400, "bad JSON body: %v", err)
}
