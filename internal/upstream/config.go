package upstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/version"
)

// Defaults of Config.
const (
	// DefaultMarksignURL is the Marksign gateway's public base URL.
	DefaultMarksignURL = "https://api.marksign.eu"
	// DefaultRequestTimeout bounds one poll's HTTP exchange.
	DefaultRequestTimeout = 10 * time.Second
	// DefaultConnectTimeout bounds dialing and the TLS handshake.
	DefaultConnectTimeout = 5 * time.Second
	// DefaultMaxConns is the default connection pool size per provider host.
	DefaultMaxConns = 64
	// DefaultMaxBodyBytes is the default limit on an answer's body.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultAccount is the account used when a session names none.
	DefaultAccount = "default"
)

// Config configures the provider clients. The zero value of every numeric
// field means its default; see New.
type Config struct {
	// FortID configures the FortID Verifier Service.
	FortID ProviderConfig
	// Marksign configures the Marksign gateway.
	Marksign ProviderConfig
	// RequestTimeout bounds one poll's HTTP exchange (default 10 s).
	RequestTimeout time.Duration
	// ConnectTimeout bounds dialing and the TLS handshake (default 5 s).
	ConnectTimeout time.Duration
	// MaxConns is the connection pool size per provider host (default 64).
	MaxConns int
	// MaxBodyBytes is the largest answer body read (default 1 MiB); a larger
	// answer is a transient failure.
	MaxBodyBytes int64
	// UserAgent is the User-Agent header (default version.UserAgent(): "pollhook/<version>").
	UserAgent string
}

// ProviderConfig is one provider family's base URL and accounts.
type ProviderConfig struct {
	// BaseURL is the provider's base URL, without a trailing slash.
	BaseURL string
	// Accounts maps an account name to its credential: the FortID API key or
	// the Marksign access token.
	Accounts Accounts
}

// Accounts maps account names to credentials. It never prints, logs or
// marshals a credential: only the account names.
type Accounts map[string]string

// Names returns the account names, sorted.
func (a Accounts) Names() []string {
	names := make([]string, 0, len(a))
	for name := range a {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// String lists the account names with their credentials redacted.
func (a Accounts) String() string {
	parts := make([]string, 0, len(a))
	for _, name := range a.Names() {
		parts = append(parts, name+":[redacted]")
	}
	return "map[" + strings.Join(parts, " ") + "]"
}

// GoString is String: %#v must not print credentials either.
func (a Accounts) GoString() string { return a.String() }

// LogValue logs the account names only.
func (a Accounts) LogValue() slog.Value { return slog.AnyValue(a.Names()) }

// MarshalJSON marshals the account names only.
func (a Accounts) MarshalJSON() ([]byte, error) { return json.Marshal(a.Names()) }

// withDefaults returns c with the zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Marksign.BaseURL == "" {
		c.Marksign.BaseURL = DefaultMarksignURL
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.UserAgent == "" {
		c.UserAgent = version.UserAgent()
	}
	c.FortID.BaseURL = strings.TrimRight(c.FortID.BaseURL, "/")
	c.Marksign.BaseURL = strings.TrimRight(c.Marksign.BaseURL, "/")
	return c
}

// Validate reports the first setting that cannot work. Defaults are applied
// first, so a zero numeric field is valid.
func (c Config) Validate() error {
	c = c.withDefaults()
	if len(c.FortID.Accounts) > 0 && c.FortID.BaseURL == "" {
		return errors.New("upstream config: FortID accounts are configured but the FortID base URL is empty (set " + EnvFortIDURL + ")")
	}
	if c.FortID.BaseURL != "" {
		if err := validateBaseURL(c.FortID.BaseURL); err != nil {
			return fmt.Errorf("upstream config: FortID base URL: %w", err)
		}
	}
	if err := validateBaseURL(c.Marksign.BaseURL); err != nil {
		return fmt.Errorf("upstream config: Marksign base URL: %w", err)
	}
	for provider, accounts := range map[string]Accounts{"FortID": c.FortID.Accounts, "Marksign": c.Marksign.Accounts} {
		for _, name := range accounts.Names() {
			if name == "" {
				return fmt.Errorf("upstream config: %s has an account with an empty name", provider)
			}
			if accounts[name] == "" {
				return fmt.Errorf("upstream config: %s account %q has an empty credential", provider, name)
			}
		}
	}
	switch {
	case c.RequestTimeout < 0:
		return fmt.Errorf("upstream config: request timeout %s must be positive", c.RequestTimeout)
	case c.ConnectTimeout < 0:
		return fmt.Errorf("upstream config: connect timeout %s must be positive", c.ConnectTimeout)
	case c.MaxConns < 0:
		return fmt.Errorf("upstream config: max connections %d must be positive", c.MaxConns)
	case c.MaxBodyBytes < 0:
		return fmt.Errorf("upstream config: max body bytes %d must be positive", c.MaxBodyBytes)
	}
	return nil
}

// validateBaseURL checks that raw is an absolute http(s) URL without query,
// fragment or credentials. The error names the URL only when it holds no
// user info.
func validateBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("cannot parse the URL: %w", errors.Unwrap(err))
	}
	shown := u.Redacted()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: scheme must be http or https", shown)
	case u.Host == "":
		return fmt.Errorf("%q: host is missing", shown)
	case u.User != nil:
		return fmt.Errorf("%q: user info is not allowed (credentials go in the accounts)", shown)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return fmt.Errorf("%q: query and fragment are not allowed", shown)
	}
	return nil
}

// Environment variables read by ConfigFromEnv.
const (
	// EnvFortIDURL is the FortID Verifier Service base URL.
	EnvFortIDURL = "POLLHOOK_FORTID_URL"
	// EnvFortIDAPIKey is the API key of FortID account "default"; a suffix
	// (EnvFortIDAPIKey + "_ACME") names another account ("acme").
	EnvFortIDAPIKey = "POLLHOOK_FORTID_API_KEY"
	// EnvMarksignURL is the Marksign gateway base URL.
	EnvMarksignURL = "POLLHOOK_MARKSIGN_URL"
	// EnvMarksignAccessToken is the access token of Marksign account
	// "default"; a suffix names another account as for EnvFortIDAPIKey.
	EnvMarksignAccessToken = "POLLHOOK_MARKSIGN_ACCESS_TOKEN"
	// EnvUpstreamTimeout is the request timeout, a Go duration ("10s").
	EnvUpstreamTimeout = "POLLHOOK_UPSTREAM_TIMEOUT"
)

// EnvVar documents one environment variable read by ConfigFromEnv.
type EnvVar struct {
	// Name is the variable's name; "<ACCOUNT>" stands for an account suffix.
	Name string
	// Default is the value used when the variable is unset, "" if none.
	Default string
	// Secret is set when the value is a credential.
	Secret bool
	// Description says what the variable sets.
	Description string
}

// EnvVars lists the environment variables ConfigFromEnv reads, for docs and
// --help output.
func EnvVars() []EnvVar {
	return []EnvVar{
		{Name: EnvFortIDURL, Description: "FortID Verifier Service base URL; required when a FortID API key is set"},
		{Name: EnvFortIDAPIKey, Secret: true, Description: `FortID API key (X-API-KEY) of account "default"`},
		{Name: EnvFortIDAPIKey + "_<ACCOUNT>", Secret: true, Description: "FortID API key of the account named by the lower-cased suffix"},
		{Name: EnvMarksignURL, Default: DefaultMarksignURL, Description: "Marksign gateway base URL"},
		{Name: EnvMarksignAccessToken, Secret: true, Description: `Marksign access token of account "default"`},
		{Name: EnvMarksignAccessToken + "_<ACCOUNT>", Secret: true, Description: "Marksign access token of the account named by the lower-cased suffix"},
		{Name: EnvUpstreamTimeout, Default: DefaultRequestTimeout.String(), Description: "timeout of one poll's HTTP exchange (Go duration)"},
	}
}

// ConfigFromEnv reads the configuration through lookup (os.LookupEnv in
// production). The suffixed account variables are found among names, every
// variable name of the same source (the names of os.Environ in production);
// their values, like every other value, are read through lookup. It reads
// nothing else, so a lookup over a map is hermetic. Use ConfigFromEnviron to
// read from a "NAME=value" list instead.
func ConfigFromEnv(lookup func(string) (string, bool), names []string) (Config, error) {
	return configFrom(lookup, names)
}

// ConfigFromEnviron reads the configuration from environ, a list of
// "NAME=value" strings as returned by os.Environ.
func ConfigFromEnviron(environ []string) (Config, error) {
	values := make(map[string]string, len(environ))
	for _, kv := range environ {
		if name, value, ok := strings.Cut(kv, "="); ok {
			values[name] = value
		}
	}
	return configFrom(func(name string) (string, bool) {
		v, ok := values[name]
		return v, ok
	}, envNames(environ))
}

// envNames returns the variable names of environ.
func envNames(environ []string) []string {
	names := make([]string, 0, len(environ))
	for _, kv := range environ {
		if name, _, ok := strings.Cut(kv, "="); ok {
			names = append(names, name)
		}
	}
	return names
}

func configFrom(lookup func(string) (string, bool), names []string) (Config, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	cfg := Config{
		FortID:   ProviderConfig{BaseURL: get(EnvFortIDURL), Accounts: Accounts{}},
		Marksign: ProviderConfig{BaseURL: get(EnvMarksignURL), Accounts: Accounts{}},
	}
	for _, src := range []struct {
		prefix   string
		accounts Accounts
	}{
		{EnvFortIDAPIKey, cfg.FortID.Accounts},
		{EnvMarksignAccessToken, cfg.Marksign.Accounts},
	} {
		if v := get(src.prefix); v != "" {
			src.accounts[DefaultAccount] = v
		}
		for _, name := range names {
			suffix, ok := strings.CutPrefix(name, src.prefix+"_")
			if !ok {
				continue
			}
			if suffix == "" {
				return Config{}, fmt.Errorf("upstream config: %s has an empty account suffix", name)
			}
			account := strings.ToLower(suffix)
			if _, dup := src.accounts[account]; dup {
				return Config{}, fmt.Errorf("upstream config: %s: account %q is configured twice", name, account)
			}
			if v := get(name); v != "" {
				src.accounts[account] = v
			}
		}
	}
	if raw := get(EnvUpstreamTimeout); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return Config{}, fmt.Errorf("upstream config: %s=%q is not a Go duration such as \"10s\": %w", EnvUpstreamTimeout, raw, err)
		}
		if d <= 0 {
			return Config{}, fmt.Errorf("upstream config: %s=%q must be positive", EnvUpstreamTimeout, raw)
		}
		cfg.RequestTimeout = d
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
