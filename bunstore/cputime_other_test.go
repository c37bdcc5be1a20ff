//go:build !unix

package bunstore_test

import "time"

func cpuTime() (time.Duration, bool) { return 0, false }
