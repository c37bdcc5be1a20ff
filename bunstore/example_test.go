package bunstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wardenkit/warden/bunstore"
	"github.com/wardenkit/warden/core/rule"
)

// Open a SQLite store, migrate it, and block a network twice: the second Put
// updates the same row.
func Example() {
	dir, err := os.MkdirTemp("", "warden-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	store, err := bunstore.Open(ctx, "sqlite:file:"+filepath.Join(dir, "warden.db"), bunstore.WithAutoMigrate())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	first, err := store.BlockedIPs().Put(ctx, rule.BlockedIP{Network: "203.0.113.0/24", Reason: "scanner"})
	if err != nil {
		fmt.Println(err)
		return
	}
	again, err := store.BlockedIPs().Put(ctx, rule.BlockedIP{Network: "203.0.113.0/24", Reason: "scanner, again"})
	if err != nil {
		fmt.Println(err)
		return
	}
	version, _ := store.Version(ctx)
	fmt.Println(again.Network, again.Reason, again.ID == first.ID, again.CreatedAt.Equal(first.CreatedAt))
	fmt.Println("version", version)

	_, err = store.BlockedIPs().Get(ctx, "198.51.100.1")
	fmt.Println(err)
	// Output:
	// 203.0.113.0/24 scanner, again true true
	// version 2
	// bunstore: BlockedIPs.Get "198.51.100.1": core: not found
}

// Redacted hides the password of a DSN, for logs.
func ExampleRedacted() {
	fmt.Println(bunstore.Redacted("postgres://warden:s3cret@db.internal:5432/warden?sslmode=require"))
	fmt.Println(bunstore.Redacted("mysql://warden:s3cret@db.internal/warden"))
	// Output:
	// postgres://warden:xxxxx@db.internal:5432/warden?sslmode=require
	// mysql://warden:xxxxx@db.internal/warden
}
