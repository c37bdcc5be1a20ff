package core

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/wardenkit/warden/core/attempt"
	"github.com/wardenkit/warden/core/clientip"
	"github.com/wardenkit/warden/core/tally"
)

// DefaultExemptPaths are answered without any check: probes and the favicon.
func DefaultExemptPaths() []string {
	return []string{"/health", "/health/", "/ready", "/ready/", "/favicon.ico"}
}

type config struct {
	clock               Clock
	logger              *slog.Logger
	ipOpts              []clientip.Option
	resolver            *clientip.Resolver
	geo                 CountryLookup
	exempt              []string
	bus                 Bus
	failPolicy          FailPolicy
	startWithoutStore   bool
	pollInterval        time.Duration
	rebuildInterval     time.Duration
	queueSize           int
	batchSize           int
	flushInterval       time.Duration
	ipv6Prefix          int
	login               loginConfig
	limiter             Limiter
	emailProviderRules  bool
	rateValuesPerSource int
	limiterPolicy       FailPolicy
	tally               tally.Counter
	autoBlockHook       func(Event)
	observer            CheckObserver
}

// Option configures an Engine. Options validate their arguments and return
// an error rather than panic.
type Option func(*config) error

// WithClock sets the clock (default: the system clock).
func WithClock(c Clock) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("WithClock: nil clock")
		}
		cfg.clock = c
		return nil
	}
}

// WithLogger sets the structured logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(cfg *config) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		cfg.logger = l
		return nil
	}
}

// WithTrustedProxies trusts forwarding headers from peers inside these
// networks (see core/clientip). Without it (or WithTrustedHops) forwarding
// headers are ignored and the TCP peer is the client.
func WithTrustedProxies(prefixes ...netip.Prefix) Option {
	return func(cfg *config) error {
		cfg.ipOpts = append(cfg.ipOpts, clientip.WithTrustedProxies(prefixes...))
		return nil
	}
}

// WithTrustedHops trusts exactly n proxies in front of the application, for
// platforms whose balancer addresses are not published.
func WithTrustedHops(n int) Option {
	return func(cfg *config) error {
		cfg.ipOpts = append(cfg.ipOpts, clientip.WithTrustedHops(n))
		return nil
	}
}

// WithForwardedHeader names the header trusted proxies set: X-Forwarded-For
// (default), Forwarded (RFC 7239), or a single-address header such as
// X-Real-IP or CF-Connecting-IP.
func WithForwardedHeader(name string) Option {
	return func(cfg *config) error {
		cfg.ipOpts = append(cfg.ipOpts, clientip.WithHeader(name))
		return nil
	}
}

// TrustUnixSocket treats a peer on a unix socket as a trusted proxy.
func TrustUnixSocket() Option {
	return func(cfg *config) error {
		cfg.ipOpts = append(cfg.ipOpts, clientip.TrustUnixSocket())
		return nil
	}
}

// WithClientIPResolver replaces the resolver built from the options above.
func WithClientIPResolver(r *clientip.Resolver) Option {
	return func(cfg *config) error {
		if r == nil {
			return errors.New("WithClientIPResolver: nil resolver")
		}
		cfg.resolver = r
		return nil
	}
}

// WithCountryLookup enables country rules (see core/geo).
func WithCountryLookup(l CountryLookup) Option {
	return func(cfg *config) error {
		if l == nil {
			return errors.New("WithCountryLookup: nil lookup")
		}
		cfg.geo = l
		return nil
	}
}

// WithExemptPaths replaces DefaultExemptPaths. Paths match URL.Path exactly,
// and only when the request path was not percent-encoded.
func WithExemptPaths(paths ...string) Option {
	return func(cfg *config) error {
		for _, p := range paths {
			if len(p) == 0 || p[0] != '/' {
				return fmt.Errorf("WithExemptPaths: path %q must start with /", p)
			}
		}
		cfg.exempt = append([]string(nil), paths...)
		return nil
	}
}

// WithBus sets the bus that tells other replicas about writes (default: an
// in-process bus).
func WithBus(b Bus) Option {
	return func(cfg *config) error {
		if b == nil {
			return errors.New("WithBus: nil bus")
		}
		cfg.bus = b
		return nil
	}
}

// WithFailPolicy sets what Check answers when it cannot decide (default
// FailClosed: 503).
func WithFailPolicy(p FailPolicy) Option {
	return func(cfg *config) error {
		if p < FailClosed || p > FailFallback {
			return fmt.Errorf("WithFailPolicy: unknown policy %d", int(p))
		}
		cfg.failPolicy = p
		return nil
	}
}

// WithStartWithoutStore lets Start succeed when the store cannot be read; the
// fail policy decides requests until the first snapshot loads.
func WithStartWithoutStore() Option {
	return func(cfg *config) error { cfg.startWithoutStore = true; return nil }
}

// WithPollInterval sets how often the store version is polled to catch
// writes missed on the bus (default 30 s; at least 100 ms).
func WithPollInterval(d time.Duration) Option {
	return func(cfg *config) error {
		if d < 100*time.Millisecond {
			return fmt.Errorf("WithPollInterval: %s is below 100ms", d)
		}
		cfg.pollInterval = d
		return nil
	}
}

// WithEventQueue sets the capacity of the event queue (default 10,000) and the
// writer's flush interval, which is also the coalescing window (default 1 s).
func WithEventQueue(size int, flush time.Duration) Option {
	return func(cfg *config) error {
		if size < 1 || size > 10_000_000 {
			return fmt.Errorf("WithEventQueue: size %d out of range 1..10000000", size)
		}
		if flush < time.Millisecond || flush > time.Minute {
			return fmt.Errorf("WithEventQueue: flush interval %s out of range 1ms..1m", flush)
		}
		cfg.queueSize, cfg.flushInterval = size, flush
		return nil
	}
}

// WithIPv6Prefix sets the length IPv6 addresses are grouped by for counters
// and event coalescing (default 64).
func WithIPv6Prefix(bits int) Option {
	return func(cfg *config) error {
		if bits < 32 || bits > 128 {
			return fmt.Errorf("WithIPv6Prefix: /%d out of range /32../128", bits)
		}
		cfg.ipv6Prefix = bits
		return nil
	}
}

// WithRebuildInterval sets the least time between two snapshot rebuilds
// (default 100 ms): writes within it share one rebuild.
func WithRebuildInterval(d time.Duration) Option {
	return func(cfg *config) error {
		if d < 0 || d > time.Minute {
			return fmt.Errorf("WithRebuildInterval: %s out of range 0..1m", d)
		}
		cfg.rebuildInterval = d
		return nil
	}
}

// WithLimiter sets the rate limiter (default: in-process counters, see
// core/ratelimit). Use MemoryLimiter to pass a configured ratelimit.Memory.
func WithLimiter(l Limiter) Option {
	return func(cfg *config) error {
		if l == nil {
			return errors.New("WithLimiter: nil limiter")
		}
		cfg.limiter = l
		return nil
	}
}

// WithLimiterFailPolicy sets what happens when the limiter fails (Redis down
// or slow): FailFallback (default) counts in process until it recovers,
// FailOpen skips the rate-limit step, FailClosed answers 503. Each failure is
// counted in Stats and recorded as a FAIL_POLICY event.
func WithLimiterFailPolicy(p FailPolicy) Option {
	return func(cfg *config) error {
		if p < FailClosed || p > FailFallback {
			return errors.New("WithLimiterFailPolicy: unknown policy")
		}
		cfg.limiterPolicy = p
		return nil
	}
}

// WithAttemptCounter sets the store of login attempt counters (default: an
// in-process attempt.Memory). Replicas must share one (redisstore) for a
// lockout to hold across them.
func WithAttemptCounter(c attempt.Counter) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("WithAttemptCounter: nil counter")
		}
		cfg.login.counter = c
		return nil
	}
}

// WithLockoutKeys sets the counters login attempts are judged by (default
// DefaultLockoutKeys: LockoutByUserAndIP and LockoutByIP). Add LockoutByUser
// to stop distributed attacks on one account, knowing that anyone can then
// lock out any username they know.
func WithLockoutKeys(keys ...LockoutKey) Option {
	return func(cfg *config) error {
		if len(keys) == 0 {
			return errors.New("WithLockoutKeys: no key")
		}
		for i, k := range keys {
			if !k.valid() || k == LockoutBySource {
				return fmt.Errorf("WithLockoutKeys: unknown key %q", k)
			}
			if slices.Contains(keys[:i], k) {
				return fmt.Errorf("WithLockoutKeys: key %q given twice", k)
			}
		}
		cfg.login.keys = slices.Clone(keys)
		return nil
	}
}

// WithWhitelistPolicy sets what whitelisted IPs and users mean for lockouts
// (default WhitelistStandard: a whitelisted address bypasses, a user with
// exemption "all" gets 10 × the limits).
func WithWhitelistPolicy(p WhitelistPolicy) Option {
	return func(cfg *config) error {
		if p < WhitelistStandard || p > WhitelistRaisesLimit {
			return fmt.Errorf("WithWhitelistPolicy: unknown policy %d", int(p))
		}
		cfg.login.whitelist = p
		return nil
	}
}

// WithUserLookup sets how a username typed at login is resolved to a user ID
// (see UserLookup): attempts then count on the user's ID, so a username and
// its e-mail address share one counter, and user whitelists apply to it.
// Without it the username's skeleton (NormalizeUsername) is the counter and
// the username as typed the user ID.
func WithUserLookup(f UserLookup) Option {
	return func(cfg *config) error {
		if f == nil {
			return errors.New("WithUserLookup: nil function")
		}
		cfg.login.lookup = f
		return nil
	}
}

// WithLoginHook sets the function the LoginMonitor asks, after each
// successful password check and before the session is issued, whether to
// allow the login, require a second factor, or refuse it.
func WithLoginHook(h LoginHook) Option {
	return func(cfg *config) error {
		if h == nil {
			return errors.New("WithLoginHook: nil hook")
		}
		cfg.login.hook = h
		return nil
	}
}

// WithLockoutFailPolicy sets what Lockout.Begin does when the attempt.Counter
// fails (default: the engine's WithFailPolicy, itself FailClosed by
// default). FailFallback counts in an in-process counter meanwhile.
func WithLockoutFailPolicy(p FailPolicy) Option {
	return func(cfg *config) error {
		if p < FailClosed || p > FailFallback {
			return fmt.Errorf("WithLockoutFailPolicy: unknown policy %d", int(p))
		}
		cfg.login.failPolicy = &p
		return nil
	}
}

// WithNewDeviceAlert turns the LoginMonitor's new-device rule on or off
// (default on): a login from a browser and OS family the user has not used
// in their recent logins is suspicious.
func WithNewDeviceAlert(on bool) Option {
	return func(cfg *config) error { cfg.login.noNewDevice = !on; return nil }
}

// WithLoginSourceCaps sets how many distinct usernames one address (IPv6:
// its /64) and one network (IPv4 /24, IPv6 /48) may have counted on their own
// keys within the failure window (defaults 20 and 200). Past a cap, new
// usernames from that source share one overflow counter (LockoutBySource)
// with 10 × the limit, so a flood of usernames locks its sender out. Users
// behind one carrier-grade NAT address share its caps: when more than that
// many of them fail logins within the window, the rest share the overflow
// counter.
func WithLoginSourceCaps(perAddress, perNetwork int) Option {
	return func(cfg *config) error {
		if perAddress < 1 || perAddress > 10_000 || perNetwork < perAddress || perNetwork > 1_000_000 {
			return fmt.Errorf("WithLoginSourceCaps: (%d, %d): want 1 <= perAddress <= perNetwork, perAddress <= 10000, perNetwork <= 1000000", perAddress, perNetwork)
		}
		cfg.login.sourceCaps = [2]int{perAddress, perNetwork}
		return nil
	}
}

// WithEmailProviderRules makes CheckEmail compare addresses at large
// providers as their mail servers deliver them: "+tags" dropped (Gmail,
// Outlook, iCloud, Proton, Fastmail, Yahoo) and dots ignored at Gmail, so
// "j.doe+x@gmail.com" meets a rule for "jdoe@gmail.com". Off by default.
func WithEmailProviderRules() Option {
	return func(cfg *config) error { cfg.emailProviderRules = true; return nil }
}

// WithRateValueCap sets how many distinct header or user values one address
// (IPv6: its /64) may have counted apart per rate-limit rule within the
// rule's period (default 1,000). Past it, the address's further values share
// one counter, so a client inventing a value per request cannot fill the
// limiter; such requests are counted in Stats.RateValueOverflow.
func WithRateValueCap(n int) Option {
	return func(cfg *config) error {
		if n < 1 || n > 1_000_000 {
			return fmt.Errorf("WithRateValueCap: %d out of range 1..1000000", n)
		}
		cfg.rateValuesPerSource = n
		return nil
	}
}
