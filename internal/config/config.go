// Package config reads the worker's configuration from environment
// variables. Vars lists every variable with its default and meaning; the
// README's configuration table is checked against it by a test.
//
// config only parses: each default is the exported constant of the package
// whose struct uses it (jobs.DefaultPollWorkers, webhook.DefaultTimeout,
// ...), and each check that involves more than one variable's syntax is
// that package's own (jobs.Config.Validate, jobs.NewService), which config
// calls where it can, to report errors early with the variable's name.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/db"
	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/logging"
	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/upstream"
	"github.com/pollhook/pollhook/internal/version"
	"github.com/pollhook/pollhook/internal/webhook"
)

// Var documents one environment variable.
type Var struct {
	// Name is the variable's name.
	Name string
	// Default is its value when unset ("" if none).
	Default string
	// Doc says what it sets.
	Doc string
}

// Vars lists every variable the worker reads, the provider variables of
// package upstream included.
func Vars() []Var {
	vars := ownVars()
	for _, v := range upstream.EnvVars() {
		vars = append(vars, Var{Name: v.Name, Default: v.Default, Doc: v.Description})
	}
	return vars
}

// Defaults of the process-level settings of Config; every other default is
// the exported constant of the package that uses it.
const (
	// DefaultHTTPAddr is Config.HTTPAddr.
	DefaultHTTPAddr = "127.0.0.1:8080"
	// DefaultDBMaxConns is Config.DBMaxConns.
	DefaultDBMaxConns = 40
	// DefaultLogLevel is Config.LogLevel.
	DefaultLogLevel = slog.LevelInfo
	// DefaultLogFormat is Config.LogFormat.
	DefaultLogFormat = logging.FormatAuto
)

func ownVars() []Var {
	return []Var{
		{"DATABASE_URL", db.DefaultURL, "Postgres connection URL"},
		{"POLLHOOK_SCHEMA", db.DefaultSchema, "schema holding all of pollhook's tables, River's included"},
		{"POLLHOOK_DB_MAX_CONNS", strconv.Itoa(DefaultDBMaxConns), "database connections per worker process for pollhook's own rows (jobs hold one only while they query, not while they wait on HTTP); River's queue statements have a second pool of half as many (at least 4) that commits without waiting for the WAL flush"},
		{"POLLHOOK_HTTP_ADDR", DefaultHTTPAddr, "listen address of /healthz, /readyz, /metrics, and of River UI and pprof when they are enabled: keep it on loopback or a private network, never public"},
		{"POLLHOOK_PPROF", "false", "serve Go's profiler at /debug/pprof/ on the HTTP address"},
		{"POLLHOOK_LOG_LEVEL", strings.ToLower(DefaultLogLevel.String()), "debug, info, warn or error"},
		{"POLLHOOK_LOG_FORMAT", string(DefaultLogFormat), "auto (text on a terminal, JSON otherwise), text or json"},
		{"POLLHOOK_POLL_WORKERS", strconv.Itoa(jobs.DefaultPollWorkers), "concurrent poll jobs per worker process and provider: each provider has its own queue (a job holds a slot only while it polls: waiting is a snooze)"},
		{"POLLHOOK_POLL_WORKERS_<PROVIDER>", "POLLHOOK_POLL_WORKERS", "concurrent poll jobs of one provider's queue (FORTID, MARKSIGN), e.g. POLLHOOK_POLL_WORKERS_FORTID=50"},
		{"POLLHOOK_DELIVER_WORKERS", strconv.Itoa(jobs.DefaultDeliverWorkers), "concurrent webhook deliveries per worker process"},
		{"POLLHOOK_FETCH_POLL_INTERVAL", webhook.FormatDuration(jobs.DefaultFetchPollInterval), "how often each poll queue looks for due jobs; bounds the lag of snoozed polls (the deliver queue looks every " +
			webhook.FormatDuration(jobs.DefaultDeliverFetchPollInterval) + " and is woken by each new delivery)"},
		{"POLLHOOK_SWEEP_INTERVAL", webhook.FormatDuration(jobs.DefaultSweepInterval), "how often the safety-net sweep (a goroutine in each worker, not a River job) picks up sessions whose notification no worker heard"},
		{"POLLHOOK_JOB_TIMEOUT", webhook.FormatDuration(jobs.DefaultJobTimeout), "longest run of a maintenance job (retention); a poll runs at most POLLHOOK_UPSTREAM_TIMEOUT + 5s, a delivery POLLHOOK_WEBHOOK_TIMEOUT + 5s"},
		{"POLLHOOK_RESCUE_AFTER", webhook.FormatDuration(jobs.DefaultRescueAfter), "how long a poll or delivery may run before River's rescuer presumes its worker dead and retries it; 0s derives it: the longer of those two timeouts + 5s (25s with defaults). A worker that provably died is reclaimed within 5s instead"},
		{"POLLHOOK_FORTID_SESSION_TIMEOUT", webhook.FormatDuration(jobs.DefaultFortIDTimeout), "the Verifier Service's session_timeout_secs"},
		{"POLLHOOK_FORTID_GRACE_PERIOD", webhook.FormatDuration(jobs.DefaultFortIDGrace), "the Verifier Service's session_timeout_grace_period_secs"},
		{"POLLHOOK_MARKSIGN_DEADLINE", webhook.FormatDuration(jobs.DefaultMarksignDeadline), "how long after registration a Marksign session is polled"},
		{"POLLHOOK_BACKOFF_<FLOW>", backoffDefaults(), backoffDoc()},
		{"POLLHOOK_CREDENTIALS_BACKOFF", webhook.FormatDuration(jobs.DefaultCredentialsBackoff), "wait between polls while a provider refuses an account's credentials"},
		{"POLLHOOK_PROVIDER_RETRY_AFTER_MAX", webhook.FormatDuration(jobs.DefaultProviderRetryAfterMax), "longest wait a provider's Retry-After can impose; it never delays a session's final poll"},
		{"POLLHOOK_WEBHOOK_TIMEOUT", webhook.FormatDuration(webhook.DefaultTimeout), "webhook request timeout"},
		{"POLLHOOK_WEBHOOK_SCHEDULE", formatSchedule(webhook.DefaultSchedule()), "delays before each webhook retry (±20% jitter)"},
		{"POLLHOOK_WEBHOOK_ALLOW_HTTP", "false", "allow http:// subscriber URLs (https is required otherwise)"},
		{"POLLHOOK_WEBHOOK_ALLOW_CIDRS", "", "comma-separated CIDRs exempt from the SSRF guard, e.g. 127.0.0.0/8"},
		{"POLLHOOK_WEBHOOK_DISABLE_AFTER", webhook.FormatDuration(webhook.DefaultDisableAfter), "disable a subscriber whose deliveries keep failing this long"},
		{"POLLHOOK_MAIN_KEY", "", "main key(s) sealing signing secrets and header values at rest: comma-separated ID:BASE64 of 32 bytes, newest first (pollhookctl keys generate); required unless POLLHOOK_ALLOW_NO_MAIN_KEY"},
		{"POLLHOOK_ALLOW_NO_MAIN_KEY", "false", "let the worker run without a main key, keeping signing secrets in clear"},
		{"POLLHOOK_ENCRYPT_PERSONAL_DATA", "false", "also seal session outcomes and answers, delivery payloads and attempt bodies (read them with pollhookctl, not SQL)"},
		{"POLLHOOK_OPERATOR_WEBHOOK_URL", "", "endpoint receiving operational events (subscriber.disabled, subscriber.enabled, delivery.exhausted); none if empty"},
		{"POLLHOOK_OPERATOR_WEBHOOK_SECRET", "", "whsec_ or whsk_ key signing operational events (generated if empty: pollhookctl subscribers secret pollhook-operator)"},
		{"POLLHOOK_RETENTION_REDACT_AFTER", webhook.FormatDuration(jobs.DefaultRedactAfter), "redact personal data (outcomes, payloads, attempt bodies) this long after a session ends; River keeps completed jobs as long"},
		{"POLLHOOK_RETENTION_DELETE_ATTEMPTS_AFTER", webhook.FormatDuration(jobs.DefaultDeleteAttemptsAfter), "delete delivery attempt records this old"},
		{"POLLHOOK_OTLP_ENDPOINT", "", "OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; tracing of every job run (otelriver) is off when empty"},
		{"POLLHOOK_RIVERUI_USER", "", "River UI basic-auth user (River UI is served at /riverui/ only with a user and password)"},
		{"POLLHOOK_RIVERUI_PASSWORD", "", "River UI basic-auth password"},
		{"POLLHOOK_RIVERUI_INSECURE", "false", "serve River UI without authentication (local use only)"},
	}
}

// Config is the worker's whole configuration.
type Config struct {
	// DatabaseURL is DATABASE_URL.
	DatabaseURL string
	// Schema is POLLHOOK_SCHEMA.
	Schema string
	// DBMaxConns is POLLHOOK_DB_MAX_CONNS.
	DBMaxConns int
	// HTTPAddr is POLLHOOK_HTTP_ADDR.
	HTTPAddr string
	// Pprof is POLLHOOK_PPROF.
	Pprof bool
	// LogLevel is POLLHOOK_LOG_LEVEL.
	LogLevel slog.Level
	// LogFormat is POLLHOOK_LOG_FORMAT.
	LogFormat logging.Format
	// JobTimeout is POLLHOOK_JOB_TIMEOUT.
	JobTimeout time.Duration
	// RescueAfter is POLLHOOK_RESCUE_AFTER.
	RescueAfter time.Duration
	// OTLPEndpoint is POLLHOOK_OTLP_ENDPOINT.
	OTLPEndpoint string
	// RiverUI configures the River UI mount.
	RiverUI RiverUI
	// Jobs is the polling engine's configuration.
	Jobs jobs.Config
	// Upstream is the providers' configuration.
	Upstream upstream.Config
	// Sender is the webhook sender's configuration.
	Sender webhook.SenderConfig
}

// RiverUI configures River UI at /riverui/.
type RiverUI struct {
	// User and Password guard it with HTTP basic auth.
	User, Password string
	// Insecure serves it without authentication.
	Insecure bool
}

// Enabled reports whether River UI may be served.
func (u RiverUI) Enabled() bool { return u.Insecure || (u.User != "" && u.Password != "") }

// Load reads the configuration from env (Environ(os.Environ()) in
// production, Lookup over maps in-process). It reads nothing else.
func Load(env Env) (Config, error) {
	lookup := env.Lookup
	r := reader{lookup: lookup}
	c := Config{
		DatabaseURL:  r.str("DATABASE_URL", db.DefaultURL),
		Schema:       r.str("POLLHOOK_SCHEMA", db.DefaultSchema),
		HTTPAddr:     r.str("POLLHOOK_HTTP_ADDR", DefaultHTTPAddr),
		DBMaxConns:   r.num("POLLHOOK_DB_MAX_CONNS", DefaultDBMaxConns),
		JobTimeout:   r.dur("POLLHOOK_JOB_TIMEOUT", jobs.DefaultJobTimeout),
		Pprof:        r.boolean("POLLHOOK_PPROF", false),
		OTLPEndpoint: r.str("POLLHOOK_OTLP_ENDPOINT", ""),
		RescueAfter:  r.dur("POLLHOOK_RESCUE_AFTER", jobs.DefaultRescueAfter),
		Jobs:         jobs.DefaultConfig(),
		RiverUI: RiverUI{
			User:     r.str("POLLHOOK_RIVERUI_USER", ""),
			Password: r.str("POLLHOOK_RIVERUI_PASSWORD", ""),
			Insecure: r.boolean("POLLHOOK_RIVERUI_INSECURE", false),
		},
	}
	if (c.RiverUI.User == "") != (c.RiverUI.Password == "") {
		r.fail("POLLHOOK_RIVERUI_USER", fmt.Errorf("set both POLLHOOK_RIVERUI_USER and POLLHOOK_RIVERUI_PASSWORD, or neither"))
	}
	if err := db.ValidateSchema(c.Schema); err != nil {
		r.fail("POLLHOOK_SCHEMA", err)
	}
	if lv, err := logging.ParseLevel(r.str("POLLHOOK_LOG_LEVEL", DefaultLogLevel.String())); err != nil {
		r.fail("POLLHOOK_LOG_LEVEL", err)
	} else {
		c.LogLevel = lv
	}
	if f, err := logging.ParseFormat(r.str("POLLHOOK_LOG_FORMAT", string(DefaultLogFormat))); err != nil {
		r.fail("POLLHOOK_LOG_FORMAT", err)
	} else {
		c.LogFormat = f
	}

	j := &c.Jobs
	j.PollWorkers = r.num("POLLHOOK_POLL_WORKERS", j.PollWorkers)
	j.DeliverWorkers = r.num("POLLHOOK_DELIVER_WORKERS", j.DeliverWorkers)
	j.SweepInterval = r.dur("POLLHOOK_SWEEP_INTERVAL", j.SweepInterval)
	j.FetchPollInterval = r.dur("POLLHOOK_FETCH_POLL_INTERVAL", j.FetchPollInterval)
	j.FortIDTimeout = r.dur("POLLHOOK_FORTID_SESSION_TIMEOUT", j.FortIDTimeout)
	j.FortIDGrace = r.dur("POLLHOOK_FORTID_GRACE_PERIOD", j.FortIDGrace)
	j.CredentialsBackoff = r.dur("POLLHOOK_CREDENTIALS_BACKOFF", j.CredentialsBackoff)
	j.ProviderRetryAfterMax = r.dur("POLLHOOK_PROVIDER_RETRY_AFTER_MAX", j.ProviderRetryAfterMax)
	for _, p := range upstream.Providers() {
		name := "POLLHOOK_POLL_WORKERS_" + strings.ToUpper(string(p))
		if v, ok := lookup(name); ok && v != "" {
			if j.ProviderWorkers == nil {
				j.ProviderWorkers = map[upstream.Provider]int{}
			}
			j.ProviderWorkers[p] = r.num(name, j.PollWorkers)
		}
	}
	msDeadline := r.dur("POLLHOOK_MARKSIGN_DEADLINE", jobs.DefaultMarksignDeadline)
	for flow, fc := range j.Flows {
		if flow != upstream.FlowFortIDVerification {
			fc.Deadline = msDeadline
		}
		name := backoffVarName(flow)
		if v, ok := lookup(name); ok && v != "" {
			b, err := ParseBackoff(v)
			if err != nil {
				r.fail(name, err)
			} else {
				fc.Backoff = b
			}
		}
		j.Flows[flow] = fc
	}
	if v, ok := lookup("POLLHOOK_WEBHOOK_SCHEDULE"); ok && v != "" {
		s, err := webhook.ParseSchedule(v)
		if err != nil {
			r.fail("POLLHOOK_WEBHOOK_SCHEDULE", err)
		} else {
			j.Webhook.Schedule = s
		}
	}
	j.Retention.RedactAfter = r.dur("POLLHOOK_RETENTION_REDACT_AFTER", j.Retention.RedactAfter)
	j.Retention.DeleteAttemptsAfter = r.dur("POLLHOOK_RETENTION_DELETE_ATTEMPTS_AFTER", j.Retention.DeleteAttemptsAfter)
	j.Webhook.DisableAfter = r.dur("POLLHOOK_WEBHOOK_DISABLE_AFTER", j.Webhook.DisableAfter)
	r.atRest(&j.Webhook)

	c.Sender = webhook.SenderConfig{
		Timeout:   r.dur("POLLHOOK_WEBHOOK_TIMEOUT", webhook.DefaultTimeout),
		UserAgent: version.UserAgent(),
		Guard: webhook.Guard{
			AllowHTTP:  r.boolean("POLLHOOK_WEBHOOK_ALLOW_HTTP", false),
			AllowCIDRs: r.cidrs("POLLHOOK_WEBHOOK_ALLOW_CIDRS"),
		},
	}

	up, err := upstream.ConfigFromEnv(lookup, env.Names())
	if err != nil {
		r.errs = append(r.errs, err.Error())
	}
	// One connection per poll slot: every running poll can reach its
	// provider at once, and none is closed for lack of idle room.
	up.MaxConns = j.PollWorkers
	for _, n := range j.ProviderWorkers {
		up.MaxConns = max(up.MaxConns, n)
	}
	// The final poll leaves its call at most the request timeout to answer
	// before the deadline.
	j.FinalPollLead = min(j.FinalPollLead, cmp.Or(up.RequestTimeout, upstream.DefaultRequestTimeout))
	c.Upstream = up
	// POLLHOOK_RESCUE_AFTER (0: derived) is checked against the poll and
	// delivery timeouts it must not undercut by jobs.DeriveTimeouts, with
	// zero timeouts meaning their defaults, as jobs.NewService reads them.
	if c.RescueAfter > 0 {
		if _, err := jobs.DeriveTimeouts(cmp.Or(up.RequestTimeout, upstream.DefaultRequestTimeout),
			cmp.Or(c.Sender.Timeout, webhook.DefaultTimeout), cmp.Or(c.JobTimeout, jobs.DefaultJobTimeout), c.RescueAfter); err != nil {
			r.fail("POLLHOOK_RESCUE_AFTER", err)
		}
	}
	if len(r.errs) == 0 {
		if err := j.Validate(); err != nil {
			r.errs = append(r.errs, err.Error())
		}
	}
	if len(r.errs) > 0 {
		return Config{}, fmt.Errorf("config: %s", strings.Join(r.errs, "; "))
	}
	return c, nil
}

// atRest reads the main key, the personal-data option and the operator's
// endpoint into w. Without a main key the worker refuses to start
// (jobs.PrepareWebhooks) unless POLLHOOK_ALLOW_NO_MAIN_KEY says it may.
func (r *reader) atRest(w *jobs.WebhookConfig) {
	if v := r.str("POLLHOOK_MAIN_KEY", ""); v != "" {
		keys, err := seal.Parse(v)
		if err != nil {
			r.fail("POLLHOOK_MAIN_KEY", err)
		}
		w.AtRest.Keys = keys
	}
	w.AllowNoMainKey = r.boolean("POLLHOOK_ALLOW_NO_MAIN_KEY", false)
	w.AtRest.Personal = r.boolean("POLLHOOK_ENCRYPT_PERSONAL_DATA", false)
	if w.AtRest.Personal && w.AtRest.Keys == nil {
		r.fail("POLLHOOK_ENCRYPT_PERSONAL_DATA", errors.New("needs POLLHOOK_MAIN_KEY"))
	}
	w.OperatorURL = r.str("POLLHOOK_OPERATOR_WEBHOOK_URL", "")
	w.OperatorSecret = r.str("POLLHOOK_OPERATOR_WEBHOOK_SECRET", "")
	if w.OperatorURL != "" {
		if _, err := webhook.ParseURL(w.OperatorURL); err != nil {
			r.fail("POLLHOOK_OPERATOR_WEBHOOK_URL", err)
		}
	}
	if w.OperatorSecret != "" {
		if _, err := webhook.Sign("msg_check", time.Now(), nil, []string{w.OperatorSecret}); err != nil {
			r.fail("POLLHOOK_OPERATOR_WEBHOOK_SECRET", errors.New("want a whsec_ secret or a whsk_ private key"))
		}
	}
}

// ParseBackoff reads "initial,multiplier,max,randomization", e.g.
// "1s,1.5,5s,0.1".
func ParseBackoff(s string) (jobs.Backoff, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return jobs.Backoff{}, fmt.Errorf("want initial,multiplier,max,randomization, got %q", s)
	}
	var b jobs.Backoff
	var err error
	if b.Initial, err = time.ParseDuration(strings.TrimSpace(parts[0])); err != nil {
		return b, fmt.Errorf("initial: %w", err)
	}
	if b.Multiplier, err = strconv.ParseFloat(strings.TrimSpace(parts[1]), 64); err != nil {
		return b, fmt.Errorf("multiplier: %w", err)
	}
	if b.Max, err = time.ParseDuration(strings.TrimSpace(parts[2])); err != nil {
		return b, fmt.Errorf("max: %w", err)
	}
	if b.Randomization, err = strconv.ParseFloat(strings.TrimSpace(parts[3]), 64); err != nil {
		return b, fmt.Errorf("randomization: %w", err)
	}
	return b, b.Validate()
}

// reader collects every bad variable, so one run reports them all.
type reader struct {
	lookup func(string) (string, bool)
	errs   []string
}

func (r *reader) fail(name string, err error) { r.errs = append(r.errs, name+": "+err.Error()) }

func (r *reader) str(name, def string) string {
	if v, ok := r.lookup(name); ok && v != "" {
		return v
	}
	return def
}

// parsed reads name with parse: def when unset or empty, and def with the
// variable reported when parse refuses the value. want says what parse
// accepts, e.g. "a positive integer".
func parsed[T any](r *reader, name string, def T, want string, parse func(string) (T, bool)) T {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	x, ok := parse(v)
	if !ok {
		r.fail(name, fmt.Errorf("%q is not %s", v, want))
		return def
	}
	return x
}

func (r *reader) dur(name string, def time.Duration) time.Duration {
	return parsed(r, name, def, "a duration such as 30s or 5m", func(v string) (time.Duration, bool) {
		d, err := time.ParseDuration(v)
		return d, err == nil && d >= 0
	})
}

func (r *reader) num(name string, def int) int {
	return parsed(r, name, def, "a positive integer", func(v string) (int, bool) {
		n, err := strconv.Atoi(v)
		return n, err == nil && n > 0
	})
}

func (r *reader) boolean(name string, def bool) bool {
	return parsed(r, name, def, "true or false", func(v string) (bool, bool) {
		b, err := strconv.ParseBool(v)
		return b, err == nil
	})
}

func (r *reader) cidrs(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, f := range strings.Split(r.str(name, ""), ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			r.fail(name, fmt.Errorf("%q is not a CIDR such as 127.0.0.0/8", f))
			continue
		}
		out = append(out, p.Masked())
	}
	return out
}

// Env is the set of environment variables Load reads: names and values.
// It must be enumerable, not only a lookup function, because provider
// accounts are named by variable suffixes
// (POLLHOOK_MARKSIGN_ACCESS_TOKEN_<ACCOUNT>).
type Env map[string]string

// Environ returns the Env of environ, a list of "NAME=value" strings as
// os.Environ returns. A later duplicate wins, as in the process environment.
func Environ(environ []string) Env {
	env := make(Env, len(environ))
	for _, kv := range environ {
		if name, value, ok := strings.Cut(kv, "="); ok {
			env[name] = value
		}
	}
	return env
}

// Lookup returns the Env of maps, the first map holding a name giving its
// value: for configuring a worker in-process (demo, bench, tests) without
// touching the process environment.
func Lookup(maps ...map[string]string) Env {
	env := Env{}
	for _, m := range slices.Backward(maps) {
		for name, value := range m {
			env[name] = value
		}
	}
	return env
}

// Lookup returns the value of the variable name, as os.LookupEnv.
func (e Env) Lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

// Names returns the names of the variables set, sorted.
func (e Env) Names() []string {
	return slices.Sorted(maps.Keys(e))
}

// formatSchedule writes a webhook schedule as POLLHOOK_WEBHOOK_SCHEDULE
// reads it.
func formatSchedule(s webhook.Schedule) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = webhook.FormatDuration(d)
	}
	return strings.Join(parts, ",")
}
