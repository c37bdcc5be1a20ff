package core_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/rule"
)

func Example() {
	ctx := context.Background()
	eng, err := core.New(memstore.New())
	if err != nil {
		panic(err)
	}
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Close(ctx)

	if _, err := eng.Rules().BlockedIPs().Put(ctx, rule.BlockedIP{Network: "203.0.113.0/24", Reason: "scanner"}); err != nil {
		panic(err)
	}
	for _, peer := range []string{"203.0.113.7:4000", "198.51.100.1:4000"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		d, _ := eng.Check(ctx, core.Request{HTTP: r})
		fmt.Println(d.ClientIP, d.Allowed, d.Status, d.Action)
	}
	// Output:
	// 203.0.113.7 false 403 IP_BLOCK
	// 198.51.100.1 true 0
}
