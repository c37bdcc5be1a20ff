package bunstore_test

import (
	"testing"

	"github.com/wardenkit/warden/core/storetest"
)

func TestListSyncConformance(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		storetest.RunListSync(t, func(t *testing.T) storetest.ListSyncStore { return newStore(t, b) })
	})
}
