package jobs

import (
	"maps"
	"slices"

	"github.com/pollhook/pollhook/internal/metrics"
	"github.com/pollhook/pollhook/internal/upstream"
	"github.com/pollhook/pollhook/internal/webhook"
)

// unconfiguredAccount is the credentials-failure account label of a session
// naming an account the worker has no credentials for.
const unconfiguredAccount = "unconfigured"

// terminalStates are the states a session may end in.
var terminalStates = []upstream.State{
	upstream.StateSucceeded, upstream.StateFailed, upstream.StateRefused, upstream.StateExpired,
	upstream.StateNotFound, upstream.StateRejected,
}

// MetricLabels returns the label sets whose series the worker creates at
// zero: every flow of cfg with every poll result and terminal state, every
// configured account of up, every delivery final state.
func MetricLabels(cfg Config, up upstream.Config) metrics.Labels {
	l := metrics.Labels{
		PollResults: []string{string(upstream.StateInProgress), resultTransient, resultCredentials, resultUnknownStatus},
		Accounts: map[string][]string{
			string(upstream.ProviderFortID):   append(up.FortID.Accounts.Names(), unconfiguredAccount),
			string(upstream.ProviderMarksign): append(up.Marksign.Accounts.Names(), unconfiguredAccount),
		},
		DeliveryStates: []string{string(webhook.StateSucceeded), string(webhook.StateFailed), string(webhook.StatePaused)},
	}
	for _, flow := range slices.Sorted(maps.Keys(cfg.Flows)) {
		l.Flows = append(l.Flows, string(flow))
	}
	for _, s := range terminalStates {
		l.PollResults = append(l.PollResults, string(s))
		l.TerminalStates = append(l.TerminalStates, string(s))
	}
	l.TerminalStates = append(l.TerminalStates, StateCancelled)
	return l
}
