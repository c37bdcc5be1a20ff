package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/ruleio"
)

// ruleWriter is the write-through rule set of a started engine.
type ruleWriter = core.Rules

// write runs fn against a started engine's rules, prints what changed and
// records it as an ADMIN_ACTION event. fn returns what it changed ("" when
// nothing), even with an error when part of the change was made.
func write(cmd *cobra.Command, a *app, change string, fn func(ruleWriter) (string, error)) error {
	eng, err := a.engine(cmd.Context())
	if err != nil {
		return err
	}
	what, err := fn(eng.Rules())
	if what != "" {
		a.admin(change + " " + what)
		if err == nil {
			a.say("%s %s: done", change, what)
		}
	}
	return err
}

func asImportError(err error) (*ruleio.ImportError, bool) {
	var ie *ruleio.ImportError
	ok := errors.As(err, &ie)
	return ie, ok
}
