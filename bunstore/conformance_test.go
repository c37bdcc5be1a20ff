package bunstore_test

import (
	"testing"

	"github.com/wardenkit/warden/core"
	"github.com/wardenkit/warden/core/storetest"
)

func TestConformance(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		storetest.Run(t, func(t *testing.T) core.Store { return newStore(t, b) })
	})
}
