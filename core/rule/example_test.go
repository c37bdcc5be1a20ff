package rule_test

import (
	"errors"
	"fmt"

	"github.com/wardenkit/warden/core/rule"
)

func ExampleBlockedIP_Validate() {
	err := rule.BlockedIP{Network: "203.0.113.9/24"}.Validate()
	var ve *rule.ValidationError
	fmt.Println(errors.As(err, &ve), ve.Field)
	fmt.Println(err)
	// Output:
	// true network
	// invalid BlockedIP.network "203.0.113.9/24": host bits set (did you mean 203.0.113.0/24?)
}

func ExampleNormalize() {
	n, err := rule.Normalize(rule.BlockedIP{Network: "::ffff:192.0.2.1", Reason: "  scanner "})
	fmt.Println(n.Network, n.Reason, n.Key(), err)
	// Output:
	// 192.0.2.1 scanner 192.0.2.1 <nil>
}
