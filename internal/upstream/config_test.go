package upstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/version"
)

func TestConfigFromEnviron(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     []string
		want    func(t *testing.T, c Config)
		wantErr string
	}{
		{name: "empty: defaults", env: nil, want: func(t *testing.T, c Config) {
			if c.Marksign.BaseURL != DefaultMarksignURL || c.FortID.BaseURL != "" || c.RequestTimeout != DefaultRequestTimeout ||
				c.ConnectTimeout != DefaultConnectTimeout || c.MaxConns != DefaultMaxConns || c.MaxBodyBytes != DefaultMaxBodyBytes ||
				c.UserAgent != version.UserAgent() || len(c.FortID.Accounts)+len(c.Marksign.Accounts) != 0 {
				t.Errorf("Config = %+v", c)
			}
		}},
		{name: "full", env: []string{
			"POLLHOOK_FORTID_URL=https://evs.fortid.com/",
			"POLLHOOK_FORTID_API_KEY=key-default",
			"POLLHOOK_FORTID_API_KEY_ACME=key-acme",
			"POLLHOOK_MARKSIGN_URL=http://127.0.0.1:8088",
			"POLLHOOK_MARKSIGN_ACCESS_TOKEN=tok-default",
			"POLLHOOK_MARKSIGN_ACCESS_TOKEN_BETA_LTD=tok-beta",
			"POLLHOOK_UPSTREAM_TIMEOUT=3s",
			"UNRELATED=1",
		}, want: func(t *testing.T, c Config) {
			if c.FortID.BaseURL != "https://evs.fortid.com" || c.Marksign.BaseURL != "http://127.0.0.1:8088" || c.RequestTimeout != 3*time.Second {
				t.Errorf("Config = %+v", c)
			}
			if fmt.Sprint(map[string]string(c.FortID.Accounts)) != "map[acme:key-acme default:key-default]" ||
				fmt.Sprint(map[string]string(c.Marksign.Accounts)) != "map[beta_ltd:tok-beta default:tok-default]" {
				t.Errorf("accounts = %v / %v", c.FortID.Accounts.Names(), c.Marksign.Accounts.Names())
			}
		}},
		{name: "bad duration", env: []string{"POLLHOOK_UPSTREAM_TIMEOUT=10"}, wantErr: `POLLHOOK_UPSTREAM_TIMEOUT="10" is not a Go duration`},
		{name: "negative duration", env: []string{"POLLHOOK_UPSTREAM_TIMEOUT=-1s"}, wantErr: "must be positive"},
		{name: "bad scheme", env: []string{"POLLHOOK_MARKSIGN_URL=ftp://x"}, wantErr: "Marksign base URL: \"ftp://x\": scheme must be http or https"},
		{name: "no host", env: []string{"POLLHOOK_FORTID_URL=https://"}, wantErr: "FortID base URL"},
		{name: "unparsable URL", env: []string{"POLLHOOK_FORTID_URL=http://[::1"}, wantErr: "cannot parse the URL"},
		{name: "user info", env: []string{"POLLHOOK_MARKSIGN_URL=https://me:hunter2@api.marksign.eu"}, wantErr: "user info is not allowed"},
		{name: "fortid key without URL", env: []string{"POLLHOOK_FORTID_API_KEY=k"}, wantErr: "set POLLHOOK_FORTID_URL"},
		{name: "empty suffix", env: []string{"POLLHOOK_MARKSIGN_ACCESS_TOKEN_=t"}, wantErr: "empty account suffix"},
		{name: "account twice", env: []string{"POLLHOOK_MARKSIGN_ACCESS_TOKEN=a", "POLLHOOK_MARKSIGN_ACCESS_TOKEN_DEFAULT=b"}, wantErr: `account "default" is configured twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ConfigFromEnviron(tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error shows the URL's password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want(t, c)
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("POLLHOOK_MARKSIGN_ACCESS_TOKEN_ZETA", "from-process-env")
	t.Setenv("POLLHOOK_FORTID_API_KEY_OMEGA", "from-process-env")
	lookup := func(name string) (string, bool) {
		if name == "POLLHOOK_MARKSIGN_ACCESS_TOKEN_ZETA" {
			return "from-lookup", true
		}
		return "", false
	}
	c, err := ConfigFromEnv(lookup, []string{"POLLHOOK_MARKSIGN_ACCESS_TOKEN_ZETA"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Marksign.Accounts["zeta"]; got != "from-lookup" {
		t.Errorf("account zeta = %q, want the value read through lookup", got)
	}
	// Hermetic: an account only the process environment names is not read.
	if _, ok := c.FortID.Accounts["omega"]; ok || len(c.FortID.Accounts) != 0 {
		t.Errorf("FortID accounts = %v, want none: the process environment must not be read", c.FortID.Accounts.Names())
	}
}

func TestEnvVars(t *testing.T) {
	t.Parallel()
	var names []string
	for _, v := range EnvVars() {
		if v.Description == "" {
			t.Errorf("%s has no description", v.Name)
		}
		names = append(names, v.Name)
	}
	want := "POLLHOOK_FORTID_URL POLLHOOK_FORTID_API_KEY POLLHOOK_FORTID_API_KEY_<ACCOUNT> POLLHOOK_MARKSIGN_URL " +
		"POLLHOOK_MARKSIGN_ACCESS_TOKEN POLLHOOK_MARKSIGN_ACCESS_TOKEN_<ACCOUNT> POLLHOOK_UPSTREAM_TIMEOUT"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("EnvVars = %s", got)
	}
}

func TestAccountsNeverPrintSecrets(t *testing.T) {
	t.Parallel()
	cfg := Config{
		FortID:   ProviderConfig{BaseURL: "https://evs.fortid.com", Accounts: Accounts{"default": testAPIKey}},
		Marksign: ProviderConfig{Accounts: Accounts{"default": testAccessToken, "acme": "acme-secret"}},
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "upstream", cfg, "accounts", cfg.Marksign.Accounts)
	for _, out := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), string(js), buf.String()} {
		for _, secret := range []string{testAPIKey, testAccessToken, "acme-secret"} {
			if strings.Contains(out, secret) {
				t.Errorf("output shows a credential: %s", out)
			}
		}
		if !strings.Contains(out, "acme") {
			t.Errorf("output lacks the account name: %s", out)
		}
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{Marksign: ProviderConfig{BaseURL: "not a url"}},
		{FortID: ProviderConfig{Accounts: Accounts{"default": "k"}}},
		{Marksign: ProviderConfig{Accounts: Accounts{"default": ""}}},
		{RequestTimeout: -time.Second},
		{MaxConns: -1},
	} {
		if _, err := New(cfg, nil); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}
