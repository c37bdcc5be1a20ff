package ruleio_test

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/wardenkit/warden/core/rule"
	"github.com/wardenkit/warden/ruleio"
)

func ExampleExport() {
	rows := []rule.BlockedUserAgent{{Pattern: "=cmd|' /C calc'!A0", Match: rule.UAContains, Category: "attack"}}
	_ = ruleio.Export(os.Stdout, ruleio.CSV, rows)
	// Output:
	// pattern,match,category,description,disabled,auto_synced,hit_count,report_only,created_at,updated_at
	// '=cmd|' /C calc'!A0,contains,attack,,false,false,0,false,,
}

func ExampleImport() {
	in := "network,reason\n203.0.113.9,scanner\n203.0.113.1/24,typo\n"
	_, err := ruleio.Import[rule.BlockedIP](strings.NewReader(in), ruleio.CSV)
	var ie *ruleio.ImportError
	if errors.As(err, &ie) {
		for _, r := range ie.Rows {
			fmt.Println(r)
		}
	}
	// Output:
	// row 3 (203.0.113.1/24): invalid BlockedIP.network "203.0.113.1/24": host bits set (did you mean 203.0.113.0/24?)
}
