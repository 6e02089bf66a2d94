package config

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/upstream"
)

// backoffVarName is the variable that sets flow's poll schedule, e.g.
// POLLHOOK_BACKOFF_SMARTID_IDENTIFICATION.
func backoffVarName(flow upstream.Flow) string {
	return "POLLHOOK_BACKOFF_" + strings.ToUpper(string(flow))
}

// formatBackoff writes b as ParseBackoff reads it: "1s,1.5,5s,0.1".
func formatBackoff(b jobs.Backoff) string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return fmt.Sprintf("%s,%s,%s,%s", b.Initial, f(b.Multiplier), b.Max, f(b.Randomization))
}

// backoffDefaults documents the default schedules of POLLHOOK_BACKOFF_<FLOW>,
// taken from jobs.DefaultConfig: each distinct schedule with the flows
// that use it, e.g. "1s,1.5,5s,0.1 (SMARTID_IDENTIFICATION, ...); ...".
func backoffDefaults() string {
	byBackoff := map[string][]string{}
	for flow, fc := range jobs.DefaultConfig().Flows {
		k := formatBackoff(fc.Backoff)
		byBackoff[k] = append(byBackoff[k], strings.ToUpper(string(flow)))
	}
	var parts []string
	for _, k := range slices.SortedFunc(maps.Keys(byBackoff), func(a, b string) int {
		return cmp.Or(cmp.Compare(len(byBackoff[a]), len(byBackoff[b])), strings.Compare(a, b))
	}) {
		flows := byBackoff[k]
		slices.Sort(flows)
		parts = append(parts, k+" ("+strings.Join(flows, ", ")+")")
	}
	return strings.Join(parts, "; ")
}

// backoffDoc documents POLLHOOK_BACKOFF_<FLOW>: the format and every name.
func backoffDoc() string {
	var names []string
	for flow := range jobs.DefaultConfig().Flows {
		names = append(names, backoffVarName(flow))
	}
	slices.Sort(names)
	return "a flow's poll schedule as initial,multiplier,max,randomization (e.g. 1s,1.5,5s,0.1); one variable per flow: " +
		strings.Join(names, ", ")
}
