// Package rule defines warden's rule kinds: blocked and whitelisted IPs and
// networks, blocked and allowed countries, blocked User-Agents, whitelisted
// users, blocked e-mail addresses and domains, and rate-limit rules. Each is
// plain data with a Key (what a store upserts on) and a Validate method whose
// error, a *ValidationError, names the field and the value it refused.
//
//	_, err := eng.Rules().BlockedIPs().Put(ctx, rule.BlockedIP{Network: "203.0.113.0/24", Reason: "scanner"})
//	var ve *rule.ValidationError
//	if errors.As(err, &ve) { /* ve.Field, ve.Value, ve.Problem */ }
//
// Normalize validates a row and returns its canonical form; stores call it
// on every write, so nothing invalid is stored. The package has no state and
// is safe for concurrent use.
package rule
