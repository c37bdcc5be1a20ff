package core

import "context"

// Login protection (DESIGN §6) hangs off the engine through these three
// hooks; the types and functions are filled in by the login files.

// loginConfig holds the options of login protection (part of config).
type loginConfig struct{}

// loginState is the engine's login-protection state (part of Engine).
type loginState struct{}

// initLogin is called by New after the options are applied.
func (e *Engine) initLogin() error { return nil }

// startLogin is called by Start after the first snapshot is loaded.
func (e *Engine) startLogin(ctx context.Context) error { return nil }
