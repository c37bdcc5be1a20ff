// Package bench compares warden's in-memory rate limiter with peers, side by
// side in one run. It is its own module so that peers never become
// dependencies of warden.
//
//	cd bench && go test -bench . -benchmem -count 10 | tee new.txt
//
// Both sides get the same rate on the same keys and read the clock on every
// call (ulule does so internally; warden's loop calls time.Now).
package bench
