package attempt_test

import (
	"testing"

	"github.com/wardenkit/warden/core/attempt"
	"github.com/wardenkit/warden/core/attempt/attempttest"
)

func TestConformance(t *testing.T) {
	attempttest.Run(t, func(t *testing.T) attempt.Counter {
		m, err := attempt.NewMemory(0)
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}
