package jobs

import (
	"github.com/pollhook/pollhook/internal/metrics"
	sess "github.com/pollhook/pollhook/internal/session"
	"github.com/pollhook/pollhook/internal/upstream"
	"github.com/pollhook/pollhook/internal/webhook"
)

// unconfiguredAccount is the credentials-failure account label of a session
// naming an account the worker has no credentials for.
const unconfiguredAccount = "unconfigured"

// MetricLabels returns the label sets whose series the worker creates at
// zero: every flow with every poll result and terminal state, every
// configured account of up (and unconfiguredAccount) per provider, every
// final delivery state.
func MetricLabels(up upstream.Config) metrics.Labels {
	l := metrics.Labels{
		PollResults: []string{string(upstream.StateInProgress), resultTransient, resultCredentials, resultUnknownStatus},
		Accounts: map[string][]string{
			string(sess.ProviderFortID):   append(up.FortID.Accounts.Names(), unconfiguredAccount),
			string(sess.ProviderMarksign): append(up.Marksign.Accounts.Names(), unconfiguredAccount),
		},
		DeliveryStates: []string{string(webhook.StateSucceeded), string(webhook.StateFailed), string(webhook.StatePaused)},
	}
	for _, flow := range sess.Flows() {
		l.Flows = append(l.Flows, string(flow))
	}
	for _, s := range sess.States() {
		if !s.Terminal() {
			continue
		}
		l.TerminalStates = append(l.TerminalStates, string(s))
		if s != sess.StateCancelled { // ended by the app, never a poll's answer
			l.PollResults = append(l.PollResults, string(s))
		}
	}
	return l
}
