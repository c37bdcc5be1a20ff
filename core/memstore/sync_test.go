package memstore_test

import (
	"testing"

	"github.com/wardenkit/warden/core/memstore"
	"github.com/wardenkit/warden/core/storetest"
)

func TestListSyncConformance(t *testing.T) {
	storetest.RunListSync(t, func(t *testing.T) storetest.ListSyncStore { return memstore.New() })
}
