// Package ruleio is the import and export format of warden's rule lists,
// shared by the warden command and any admin interface.
//
// Two formats carry the same rows:
//
//   - JSON: an array of objects whose field names are the rule types' json
//     tags (rule.BlockedIP's "network", "reason", "expires_at", …); times are
//     RFC 3339 in UTC.
//   - CSV: a header row naming the same fields, one rule per row; times are
//     RFC 3339 in UTC, empty for none; booleans true/false.
//
// A row's identity is its kind's Key() (the normalised network, pattern,
// code, address or domain). "id" is never written and "created_at" and
// "updated_at" are ignored on import: the store sets them.
//
//	if err := ruleio.Export(w, ruleio.CSV, rows); err != nil { … }
//	rows, err := ruleio.Import[rule.BlockedIP](r, ruleio.CSV)
//	var ie *ruleio.ImportError
//	if errors.As(err, &ie) { for _, re := range ie.Rows { … } }
//
// Import validates every row with rule.Normalize and returns either every
// row, normalised, or an *ImportError naming each bad row; the caller
// applies nothing in that case. Input larger than MaxInputBytes or with
// more than MaxRows rows is refused as a whole.
//
// Security: a CSV cell that starts with =, +, -, @, a tab or a carriage
// return is written with a leading single quote so that a spreadsheet shows
// it as text instead of running it as a formula. Import removes one leading
// single quote from every text cell, so an export imports unchanged; a
// hand-written cell that really begins with a quote must therefore begin
// with two.
//
// Every function is safe for concurrent use.
package ruleio
