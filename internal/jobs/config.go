package jobs

import (
	"fmt"
	"time"

	"github.com/pollhook/pollhook/internal/upstream"
	"github.com/pollhook/pollhook/internal/webhook"
)

// Defaults of Config (DefaultConfig) and of the Service's River client, one
// home per setting: package config documents and reads them from these.
const (
	// DefaultFortIDTimeout is Config.FortIDTimeout: FortID publishes no
	// default for session_timeout_secs.
	DefaultFortIDTimeout = 5 * time.Minute
	// DefaultFortIDGrace is Config.FortIDGrace.
	DefaultFortIDGrace = time.Minute
	// DefaultMarksignDeadline is the Deadline of every Marksign flow.
	DefaultMarksignDeadline = 5 * time.Minute
	// DefaultCredentialsBackoff is Config.CredentialsBackoff.
	DefaultCredentialsBackoff = time.Minute
	// DefaultSweepInterval is Config.SweepInterval.
	DefaultSweepInterval = 5 * time.Second
	// DefaultFetchPollInterval is Config.FetchPollInterval.
	DefaultFetchPollInterval = 100 * time.Millisecond
	// DefaultFetchCooldown is Config.FetchCooldown.
	DefaultFetchCooldown = 25 * time.Millisecond
	// DefaultDeliverFetchCooldown is Config.DeliverFetchCooldown.
	DefaultDeliverFetchCooldown = 2 * time.Millisecond
	// DefaultDeliverFetchPollInterval is Config.DeliverFetchPollInterval.
	DefaultDeliverFetchPollInterval = 10 * time.Millisecond
	// DefaultPollWorkers is Config.PollWorkers. At 30 000 sessions in
	// flight a 100 ms fetch finds about 320 Marksign polls due: with 200
	// slots the rest waited for slots and a later fetch (lag p99 0.42-0.45 s);
	// with 500 the step holds (p99 0.245 s, RSS 94 MB; docs/BENCHMARKS.md).
	// A slot is held only while a poll runs; the provider calls themselves
	// share upstream.DefaultMaxConns connections per host.
	DefaultPollWorkers = 500
	// DefaultDeliverWorkers is Config.DeliverWorkers.
	DefaultDeliverWorkers = 50
	// DefaultProviderRetryAfterMax is Config.ProviderRetryAfterMax.
	DefaultProviderRetryAfterMax = 30 * time.Second
	// DefaultFinalPollLead is Config.FinalPollLead (package config bounds
	// it by the provider request timeout).
	DefaultFinalPollLead = 2 * time.Second
	// DefaultLogAggregateEvery is Config.LogAggregateEvery.
	DefaultLogAggregateEvery = time.Minute
	// DefaultRetryAfterMax is WebhookConfig.RetryAfterMax.
	DefaultRetryAfterMax = time.Hour
	// DefaultRedactAfter is RetentionConfig.RedactAfter.
	DefaultRedactAfter = 30 * 24 * time.Hour
	// DefaultDeleteAttemptsAfter is RetentionConfig.DeleteAttemptsAfter.
	DefaultDeleteAttemptsAfter = 90 * 24 * time.Hour
	// DefaultRetentionInterval is RetentionConfig.Interval.
	DefaultRetentionInterval = time.Hour
	// DefaultJobTimeout is Deps.JobTimeout: the timeout of a maintenance
	// job (retention). Polls and deliveries have their own (DeriveTimeouts).
	DefaultJobTimeout = time.Minute
	// DefaultRescueAfter is Deps.RescueStuckJobsAfter: zero, derived from
	// the poll and delivery timeouts by DeriveTimeouts.
	DefaultRescueAfter time.Duration = 0
)

// FlowConfig is the polling policy of one flow.
type FlowConfig struct {
	// Backoff is the polling schedule.
	Backoff Backoff
	// Deadline is how long after registration pollhook stops polling and
	// ends the session as expired. For FortID it is ignored in favour of
	// Config.FortIDTimeout + Config.FortIDGrace.
	Deadline time.Duration
}

// Config is the polling engine's configuration.
type Config struct {
	// Flows holds the policy of each flow; DefaultConfig fills all seven.
	Flows map[upstream.Flow]FlowConfig
	// FortIDTimeout is the Verifier Service's session_timeout_secs.
	FortIDTimeout time.Duration
	// FortIDGrace is the Verifier Service's session_timeout_grace_period_secs.
	FortIDGrace time.Duration
	// CredentialsBackoff is the wait after a credentials failure: long, so a
	// revoked key does not hammer the provider, yet the session survives
	// until its deadline in case the operator fixes the key.
	CredentialsBackoff time.Duration
	// SweepInterval is how often the sweep looks for sessions inserted by SQL
	// while no worker listened.
	SweepInterval time.Duration
	// FetchPollInterval is how often each of the poll and deliver queues
	// looks for due jobs when no notification arrives. Snoozed polls wake
	// through it, so it bounds their scheduling lag. It is the one place to
	// set it (POLLHOOK_FETCH_POLL_INTERVAL through package config; tests set
	// the field).
	FetchPollInterval time.Duration
	// FetchCooldown is the shortest time between two fetches of a queue;
	// with MaxWorkers it caps a queue's job rate. River runs with
	// RiverFetchCooldown, which never exceeds FetchPollInterval.
	FetchCooldown time.Duration
	// DeliverFetchCooldown is FetchCooldown of the deliver queue, and
	// River's own client-wide cooldown, which also spaces its insert
	// notifications per queue. A delivery job is inserted by the handoff
	// and wanted at once: with the poll queues' cooldown it waited on
	// average half of it for its fetch, and a notification suppressed
	// within the cooldown of the one before left it to the next fetch poll
	// (terminal answer to webhook p99 81 ms; docs/BENCHMARKS.md).
	DeliverFetchCooldown time.Duration
	// DeliverFetchPollInterval is FetchPollInterval of the deliver queue.
	// River wakes the queue on the handoff's insert notification, but in
	// the bench about one delivery in ten was fetched only by the poll
	// (p95 30 ms, p99 54 ms at 100 ms): polling every 10 ms bounds that
	// (p99 24 ms) for about a hundred indexed empty fetches a second.
	DeliverFetchPollInterval time.Duration
	// PollWorkers is the number of concurrent poll jobs per process and
	// provider: each provider has its own queue (jobargs.QueuePollFor) with this many
	// slots unless ProviderWorkers says otherwise, so a slow or dead provider
	// cannot hold the slots of the others.
	PollWorkers int
	// ProviderWorkers overrides PollWorkers for a provider's queue.
	ProviderWorkers map[upstream.Provider]int
	// ProviderRetryAfterMax bounds a provider's Retry-After: a longer one
	// waits this long. It never delays the final poll (see Decide).
	ProviderRetryAfterMax time.Duration
	// FinalPollLead is how long before its deadline a session's final poll
	// is made at most (less for short sessions, see FinalPollAt). It should
	// not exceed the provider request timeout, so the final call can be
	// answered before the deadline.
	FinalPollLead time.Duration
	// LogAggregateEvery is how often a failure repeated by many sessions
	// (same provider, account and class) is logged, with a count.
	LogAggregateEvery time.Duration
	// DeliverWorkers is the number of concurrent deliveries per process.
	DeliverWorkers int
	// Webhook configures delivery.
	Webhook WebhookConfig
	// Retention says how long personal data and attempts are kept.
	Retention RetentionConfig
}

// WebhookConfig configures webhook delivery.
type WebhookConfig struct {
	// Schedule is the delay before each retry.
	Schedule webhook.Schedule
	// DisableAfter disables a subscriber whose deliveries keep failing for
	// this long.
	DisableAfter time.Duration
	// RetryAfterMax bounds a subscriber's Retry-After.
	RetryAfterMax time.Duration
	// AllowNoMainKey lets the worker start without a main key
	// (POLLHOOK_ALLOW_NO_MAIN_KEY), keeping signing keys in clear.
	AllowNoMainKey bool
	// AtRest seals signing keys and header values, and personal data if
	// asked (POLLHOOK_MAIN_KEY, POLLHOOK_ENCRYPT_PERSONAL_DATA).
	AtRest webhook.AtRest
	// OperatorURL is the operator's endpoint for operational events
	// (POLLHOOK_OPERATOR_WEBHOOK_URL; none if empty).
	OperatorURL string
	// OperatorSecret signs them (POLLHOOK_OPERATOR_WEBHOOK_SECRET; generated
	// and read with pollhookctl if empty).
	OperatorSecret string
}

// PollWorkersFor is the number of poll slots of provider p's queue.
func (c Config) PollWorkersFor(p upstream.Provider) int {
	if n, ok := c.ProviderWorkers[p]; ok && n > 0 {
		return n
	}
	return c.PollWorkers
}

// DefaultConfig returns the documented defaults.
//
// Marksign sessions give the user about two minutes and stay readable about
// five minutes after completion, and comparable clients poll every 1-3 s.
// Most people confirm on their phone within the first 20 s, and each second
// until the next poll is a second the app waits: so polls start at 500 ms
// and grow gently, by 1.08, passing 2 s about 19 s after registration and
// reaching their 5 s maximum after about 56 s, where mostly abandoned
// sessions remain. They stop 5 minutes after registration. About 19 polls in
// the first 20 s and 43 in two minutes, against 7 and 27 for 1 s growing by
// 1.5, which made the app wait about twice as long (docs/BENCHMARKS.md,
// "Detection delay").
func DefaultConfig() Config {
	marksign := FlowConfig{
		Backoff:  Backoff{Initial: 500 * time.Millisecond, Multiplier: 1.08, Max: 5 * time.Second, Randomization: 0.1},
		Deadline: DefaultMarksignDeadline,
	}
	return Config{
		Flows: map[upstream.Flow]FlowConfig{
			upstream.FlowFortIDVerification: {
				Backoff: Backoff{Initial: 2 * time.Second, Multiplier: 1.5, Max: 15 * time.Second, Randomization: 0.1},
			},
			upstream.FlowSmartIDIdentification:  marksign,
			upstream.FlowSmartIDSigning:         marksign,
			upstream.FlowSmartIDHashSigning:     marksign,
			upstream.FlowMobileIDIdentification: marksign,
			upstream.FlowMobileIDSigning:        marksign,
			upstream.FlowMobileIDHashSigning:    marksign,
		},
		FortIDTimeout:            DefaultFortIDTimeout,
		FortIDGrace:              DefaultFortIDGrace,
		CredentialsBackoff:       DefaultCredentialsBackoff,
		SweepInterval:            DefaultSweepInterval,
		FetchPollInterval:        DefaultFetchPollInterval,
		FetchCooldown:            DefaultFetchCooldown,
		DeliverFetchCooldown:     DefaultDeliverFetchCooldown,
		DeliverFetchPollInterval: DefaultDeliverFetchPollInterval,
		PollWorkers:              DefaultPollWorkers,
		ProviderRetryAfterMax:    DefaultProviderRetryAfterMax,
		FinalPollLead:            DefaultFinalPollLead,
		LogAggregateEvery:        DefaultLogAggregateEvery,
		DeliverWorkers:           DefaultDeliverWorkers,
		Webhook: WebhookConfig{
			Schedule:      webhook.DefaultSchedule(),
			DisableAfter:  webhook.DefaultDisableAfter,
			RetryAfterMax: DefaultRetryAfterMax,
		},
		Retention: RetentionConfig{
			RedactAfter:         DefaultRedactAfter,
			DeleteAttemptsAfter: DefaultDeleteAttemptsAfter,
			Interval:            DefaultRetentionInterval,
		},
	}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	for flow, fc := range c.Flows {
		if err := fc.Backoff.Validate(); err != nil {
			return fmt.Errorf("flow %s: %w", flow, err)
		}
		if flow != upstream.FlowFortIDVerification && fc.Deadline <= 0 {
			return fmt.Errorf("flow %s: deadline %s must be positive", flow, fc.Deadline)
		}
	}
	switch {
	case c.FortIDTimeout <= 0:
		return fmt.Errorf("fortid session timeout %s must be positive", c.FortIDTimeout)
	case c.FortIDGrace < 0:
		return fmt.Errorf("fortid grace period %s must not be negative", c.FortIDGrace)
	case c.CredentialsBackoff <= 0:
		return fmt.Errorf("credentials backoff %s must be positive", c.CredentialsBackoff)
	case c.SweepInterval <= 0:
		return fmt.Errorf("sweep interval %s must be positive", c.SweepInterval)
	case c.FetchPollInterval <= 0 || c.FetchCooldown <= 0 || c.DeliverFetchCooldown <= 0 || c.DeliverFetchPollInterval <= 0:
		return fmt.Errorf("fetch poll intervals %s (deliver %s) and cooldowns %s (deliver %s) must be positive",
			c.FetchPollInterval, c.DeliverFetchPollInterval, c.FetchCooldown, c.DeliverFetchCooldown)
	case c.ProviderRetryAfterMax < 0 || c.FinalPollLead <= 0 || c.LogAggregateEvery < 0:
		return fmt.Errorf("provider retry-after max %s and log aggregation %s must not be negative, final poll lead %s must be positive",
			c.ProviderRetryAfterMax, c.LogAggregateEvery, c.FinalPollLead)
	case c.PollWorkers <= 0 || c.DeliverWorkers <= 0:
		return fmt.Errorf("worker counts (poll %d, deliver %d) must be positive", c.PollWorkers, c.DeliverWorkers)
	case len(c.Webhook.Schedule) == 0:
		return fmt.Errorf("webhook retry schedule is empty")
	case c.Retention.RedactAfter <= 0 || c.Retention.DeleteAttemptsAfter <= 0 || c.Retention.Interval <= 0:
		return fmt.Errorf("retention periods (redact %s, delete attempts %s, every %s) must be positive",
			c.Retention.RedactAfter, c.Retention.DeleteAttemptsAfter, c.Retention.Interval)
	}
	return nil
}

// RiverFetchCooldown is the fetch cooldown River runs the queues with:
// FetchCooldown, cut to FetchPollInterval when that is shorter (River
// refuses a cooldown longer than the poll interval).
func (c Config) RiverFetchCooldown() time.Duration {
	return min(c.FetchCooldown, c.FetchPollInterval)
}

// RiverDeliverFetchCooldown is DeliverFetchCooldown as River runs it: never
// longer than either fetch poll interval nor shorter than River's 1 ms
// minimum.
func (c Config) RiverDeliverFetchCooldown() time.Duration {
	return max(min(c.DeliverFetchCooldown, c.FetchPollInterval, c.DeliverFetchPollInterval), time.Millisecond)
}

// RiverDeliverFetchPollInterval is DeliverFetchPollInterval as River runs
// it: never shorter than the deliver queue's cooldown.
func (c Config) RiverDeliverFetchPollInterval() time.Duration {
	return max(c.DeliverFetchPollInterval, c.RiverDeliverFetchCooldown())
}

// defaultDeadline is how long after registration a session of flow may be
// polled.
func (c Config) defaultDeadline(flow upstream.Flow) time.Duration {
	if flow == upstream.FlowFortIDVerification {
		return c.FortIDTimeout + c.FortIDGrace
	}
	return c.Flows[flow].Deadline
}
