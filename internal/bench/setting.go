package bench

import (
	"fmt"
	"time"

	"github.com/pollhook/pollhook/internal/jobs"
)

// Setting is one River setting of a rate run: the poll queue's MaxWorkers
// and its fetch poll interval and cooldown.
type Setting struct {
	// Workers is the queue's MaxWorkers.
	Workers int `json:"workers"`
	// FetchPollInterval and FetchCooldown are River's fetch settings.
	FetchPollInterval Millis `json:"fetch_poll_interval_ms"`
	FetchCooldown     Millis `json:"fetch_cooldown_ms"`
}

// String formats s as "1000 workers, fetch 100ms/25ms".
func (s Setting) String() string {
	return fmt.Sprintf("%d workers, fetch %s/%s", s.Workers, s.FetchPollInterval.duration(), s.FetchCooldown.duration())
}

func (m Millis) duration() time.Duration {
	return time.Duration(float64(m) * float64(time.Millisecond))
}

// Fetch is a pair of River fetch settings to sweep.
type Fetch struct {
	// PollInterval is River's FetchPollInterval.
	PollInterval time.Duration
	// Cooldown is River's FetchCooldown (pollhook's worker takes
	// min(its 25 ms default, PollInterval): see pollhookSetting).
	Cooldown time.Duration
}

// DefaultFetch is pollhook's own fetch setting (jobs.DefaultConfig).
func DefaultFetch() Fetch {
	d := jobs.DefaultConfig()
	return Fetch{PollInterval: d.FetchPollInterval, Cooldown: d.FetchCooldown}
}

// riverSetting is the setting cfg gives an in-process River client: its
// PollWorkers and fetch settings, pollhook's defaults where unset.
func (cfg Config) riverSetting() Setting {
	f := DefaultFetch()
	if cfg.FetchPollInterval > 0 {
		f.PollInterval = cfg.FetchPollInterval
		f.Cooldown = min(f.Cooldown, f.PollInterval)
	}
	if cfg.FetchCooldown > 0 {
		f.Cooldown = cfg.FetchCooldown
	}
	return Setting{Workers: cfg.PollWorkers, FetchPollInterval: millis(f.PollInterval), FetchCooldown: millis(f.Cooldown)}
}

// pollhookSetting is the setting pollhook's worker runs with under cfg: the
// worker takes a fetch poll interval (POLLHOOK_FETCH_POLL_INTERVAL) and
// caps its 25 ms cooldown by it; it has no cooldown knob of its own.
func (cfg Config) pollhookSetting() Setting {
	c := cfg
	c.FetchCooldown = 0
	return c.riverSetting()
}

// withSetting returns cfg running at workers and f.
func (cfg Config) withSetting(workers int, f Fetch) Config {
	cfg.PollWorkers = workers
	cfg.FetchPollInterval = f.PollInterval
	cfg.FetchCooldown = f.Cooldown
	return cfg
}
