//go:build unix

package bunstore_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used, user and system. Its rate
// is steadier than wall time on a shared, busy machine.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
