package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pollhook/pollhook/internal/config"
	"github.com/pollhook/pollhook/internal/daemon"
	"github.com/pollhook/pollhook/internal/testdb"
)

// prometheusOwn are series Prometheus makes itself for every target.
var prometheusOwn = []string{"up", "scrape_duration_seconds", "scrape_samples_scraped"}

var (
	promString = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promBraces = regexp.MustCompile(`\{[^}]*\}`)
	promRange  = regexp.MustCompile(`\[[^\]]*\]`)
	promLabels = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promVar    = regexp.MustCompile(`\$\{?\w+\}?`)
	promToken  = regexp.MustCompile(`[0-9][0-9a-zA-Z_.]*|[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promCall   = regexp.MustCompile(`^\s*\(`)
)

// promKeywords are PromQL words that are neither metrics nor functions.
var promKeywords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
	"group_left", "group_right", "inf", "nan", "Inf", "NaN", "start", "end"}

// metricNames returns the metric (and recording rule) names a PromQL
// expression selects: the identifiers left once strings, label matchers,
// ranges, grouping clauses and Grafana variables are removed, that are not
// a function call, a keyword or a number.
func metricNames(expr string) []string {
	s := promString.ReplaceAllString(expr, `""`)
	s = promBraces.ReplaceAllString(s, " ")
	s = promRange.ReplaceAllString(s, " ")
	s = promLabels.ReplaceAllString(s, " ")
	s = promVar.ReplaceAllString(s, " ")
	var names []string
	for _, loc := range promToken.FindAllStringIndex(s, -1) {
		tok := s[loc[0]:loc[1]]
		if tok[0] >= '0' && tok[0] <= '9' || slices.Contains(promKeywords, tok) || promCall.MatchString(s[loc[1]:]) {
			continue
		}
		if !slices.Contains(names, tok) {
			names = append(names, tok)
		}
	}
	return names
}

func TestMetricNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up{job="pollhook"} == 0`, []string{"up"}},
		{`sum by (flow, result) (rate(pollhook_polls_total[5m]))`, []string{"pollhook_polls_total"}},
		{`sum(rate(a_total{x="by (y)"}[$__rate_interval])) without (instance) / on (flow) group_left (z) b`, []string{"a_total", "b"}},
		{`histogram_quantile(0.99, sum by (le) (rate(pollhook_poll_lag_seconds_bucket[5m]))) > 5e3`, []string{"pollhook_poll_lag_seconds_bucket"}},
		{`max(pollhook:river_jobs:max offset 5m) and bool vector(1)`, []string{"pollhook:river_jobs:max"}},
		{`count_over_time(x[1h:5m]) unless absent(y)`, []string{"x", "y"}},
		{`label_replace(m, "dst", "$1", "src", "(.*)")`, []string{"m"}},
	} {
		if got := metricNames(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("metricNames(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

// ruleFile is the part of a Prometheus rule file the test reads.
type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Record string `yaml:"record"`
			Alert  string `yaml:"alert"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// dashboardExprs returns every target expression of a Grafana dashboard,
// rows' nested panels included.
func dashboardExprs(t *testing.T, path string) []string {
	t.Helper()
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var dash struct {
		Panels []json.RawMessage `json:"panels"`
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var exprs []string
	var walk func([]json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for _, tg := range p.Targets {
				if tg.Expr == "" {
					t.Errorf("%s: panel %q has a target without an expression", path, p.Title)
				}
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	return exprs
}

// exportedFamilies starts a real worker on a fresh schema, scrapes its
// /metrics once and returns the metric families it exports, with their
// types.
func exportedFamilies(t *testing.T) map[string]string {
	t.Helper()
	tdb := testdb.New(t)
	cfg, err := config.Load(config.Lookup(map[string]string{
		"DATABASE_URL":                   tdb.URL,
		"POLLHOOK_SCHEMA":                tdb.Schema,
		"POLLHOOK_HTTP_ADDR":             "127.0.0.1:0",
		"POLLHOOK_FORTID_URL":            "http://127.0.0.1:9",
		"POLLHOOK_FORTID_API_KEY":        "k",
		"POLLHOOK_MARKSIGN_URL":          "http://127.0.0.1:9",
		"POLLHOOK_MARKSIGN_ACCESS_TOKEN": "t",
		"POLLHOOK_POLL_WORKERS":          "2",
		"POLLHOOK_DELIVER_WORKERS":       "2",
		"POLLHOOK_DB_MAX_CONNS":          "8",
		"POLLHOOK_MAIN_KEY":              testdb.MainKey(),
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, err := daemon.Start(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := w.Stop(sctx); err != nil {
			t.Error(err)
		}
	})
	resp, err := http.Get("http://" + w.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("/metrics = %d: %s", resp.StatusCode, b)
	}
	families := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			families[f[2]] = f[3]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return families
}

// exported reports whether name is a series of an exported family: the
// family itself or, for a histogram or summary, one of its derived series.
func exported(families map[string]string, name string) bool {
	if _, ok := families[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if typ := families[base]; typ == "histogram" || typ == "summary" && suffix != "_bucket" {
				return true
			}
		}
	}
	return false
}

// TestRulesAndDashboardUseExportedMetrics checks that every metric the
// rules and the dashboard select is one a worker exports (or a recording
// rule of the rules, or a series Prometheus makes itself), and that the
// dashboard shows every pollhook_ metric.
func TestRulesAndDashboardUseExportedMetrics(t *testing.T) {
	t.Parallel()
	families := exportedFamilies(t)

	b, err := os.ReadFile("prometheus/pollhook-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	var recorded []string
	uses := map[string][]string{} // expression -> where
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded = append(recorded, r.Record)
			}
			uses[r.Expr] = append(uses[r.Expr], "rule "+r.Record+r.Alert)
		}
	}
	exprs := dashboardExprs(t, "grafana/pollhook-dashboard.json")
	if len(exprs) < 20 || len(recorded) == 0 {
		t.Fatalf("%d dashboard expressions, %d recording rules: the files were not read", len(exprs), len(recorded))
	}
	onDashboard := map[string]bool{}
	for _, e := range exprs {
		uses[e] = append(uses[e], "dashboard")
		for _, n := range metricNames(e) {
			onDashboard[n] = true
		}
	}
	for expr, where := range uses {
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: no metric found in %q", where[0], expr)
		}
		for _, n := range names {
			if !exported(families, n) && !slices.Contains(recorded, n) && !slices.Contains(prometheusOwn, n) {
				t.Errorf("%s: %q uses %s, which the worker does not export", strings.Join(where, ", "), expr, n)
			}
		}
	}
	for name, typ := range families {
		if !strings.HasPrefix(name, "pollhook_") {
			continue
		}
		shown := onDashboard[name]
		if typ == "histogram" {
			shown = onDashboard[name+"_bucket"]
		}
		if !shown {
			t.Errorf("the dashboard does not show %s (%s)", name, typ)
		}
	}
}
