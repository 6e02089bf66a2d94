package invariant

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// row is a session as the database holds it after the run.
type row struct {
	identity
	state, outcome, errText string
	finished, deadline      *time.Time
}

// delivery is a deliveries row.
type delivery struct {
	webhookID, state, eventType string
	attempts                    int
}

// tables is what the run left in the database.
type tables struct {
	sessions   map[string]row
	deliveries map[string][]delivery
	jobLeaks   []string
	jobs       int
	rescued    int                    // jobs reclaimed from a killed worker (or rescued by River)
	rescues    map[string][]time.Time // when each session's poll job was reclaimed or rescued
}

func readTables(ctx context.Context, r *run) (tables, error) {
	tb := tables{sessions: map[string]row{}, deliveries: map[string][]delivery{}, rescues: map[string][]time.Time{}}
	var id string
	var w row
	if err := r.eachRow(ctx, "sessions", `SELECT id::text, provider, flow, external_id, account, locale, subscriber, created_at, state,
			coalesce(outcome::text, ''), coalesce(error, ''), finished_at, deadline FROM sessions`,
		[]any{&id, &w.provider, &w.flow, &w.ext, &w.account, &w.locale, &w.subscriber, &w.created, &w.state,
			&w.outcome, &w.errText, &w.finished, &w.deadline},
		func() { tb.sessions[id] = w }); err != nil {
		return tb, err
	}
	var sid string
	var d delivery
	if err := r.eachRow(ctx, "deliveries", `SELECT coalesce(session_id::text, ''), webhook_id, state, event_type, attempts FROM deliveries`,
		[]any{&sid, &d.webhookID, &d.state, &d.eventType, &d.attempts},
		func() { tb.deliveries[sid] = append(tb.deliveries[sid], d) }); err != nil {
		return tb, err
	}
	if err := r.tdb.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job
		WHERE EXISTS (SELECT 1 FROM unnest(errors) e
			WHERE e->>'error' LIKE 'Stuck job rescued%' OR e->>'error' LIKE 'Stranded job reclaimed%')`).Scan(&tb.rescued); err != nil {
		return tb, fmt.Errorf("read river_job: %w", err)
	}
	var at time.Time
	if err := r.eachRow(ctx, "rescues", `SELECT coalesce(args->>'session_id', ''), (e->>'at')::timestamptz
		FROM river_job, unnest(errors) e WHERE e->>'error' LIKE 'Stuck job rescued%' OR e->>'error' LIKE 'Stranded job reclaimed%'`,
		[]any{&sid, &at},
		func() { tb.rescues[sid] = append(tb.rescues[sid], at) }); err != nil {
		return tb, err
	}
	var jobID int64
	var kind, args, meta, errs string
	err := r.eachRow(ctx, "river_job", `SELECT id, kind, args::text, metadata::text, coalesce(errors::text, '') FROM river_job`,
		[]any{&jobID, &kind, &args, &meta, &errs},
		func() {
			tb.jobs++
			for _, col := range []struct{ name, text string }{{"args", args}, {"metadata", meta}, {"errors", errs}} {
				if hit := r.leak(col.text); hit != "" {
					tb.jobLeaks = append(tb.jobLeaks, fmt.Sprintf("river_job %d (%s) %s: %s", jobID, kind, col.name, hit))
				}
			}
		})
	return tb, err
}

// eachRow runs query and, for each row, scans it into dest and calls fn;
// what names the rows read in errors.
func (r *run) eachRow(ctx context.Context, what, query string, dest []any, fn func()) error {
	rows, err := r.tdb.Pool.Query(ctx, query)
	if err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	if _, err := pgx.ForEachRow(rows, dest, func() error { fn(); return nil }); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	return nil
}

// terminalStates are the states a session ends in.
var terminalStates = map[string]bool{"succeeded": true, "failed": true, "refused": true, "expired": true,
	"not_found": true, "rejected": true, "cancelled": true}

// verdict is a run's outcome: problems by invariant, per session and
// global, and the figures.
type verdict struct {
	bySession map[*session][]string
	global    []string
	counts    map[string]int // problems per invariant
	figures   map[string]int
}

func (v *verdict) add(s *session, inv, format string, args ...any) {
	msg := inv + ": " + fmt.Sprintf(format, args...)
	v.counts[inv]++
	if s == nil {
		v.global = append(v.global, msg)
		return
	}
	v.bySession[s] = append(v.bySession[s], msg)
}

// pollBlocked reports whether a kill kept the worker from making s's final
// poll in [from, deadline]: the worker was down (killed, not yet ready
// again) during part of it, or s's poll job, running when a worker was
// killed, was stuck until River rescued it (and retried it, within 2 s)
// after from.
func (r *run) pollBlocked(s *session, tb tables, from, deadline time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, k := range r.kills {
		ready := deadline
		if i < len(r.ready) {
			ready = r.ready[i]
		}
		if !k.After(deadline) && !ready.Add(500*time.Millisecond).Before(from) {
			return true
		}
	}
	for _, at := range tb.rescues[s.id] {
		if !at.Add(2 * time.Second).Before(from) {
			return true
		}
	}
	return false
}

// killBetween reports whether the worker was killed in (from, to).
func (r *run) killBetween(from, to time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.kills {
		if k.After(from) && k.Before(to) {
			return true
		}
	}
	return false
}

// check evaluates I1-I6 over the run.
func check(ctx context.Context, r *run) (*verdict, tables, error) {
	v := &verdict{bySession: map[*session][]string{}, counts: map[string]int{}, figures: map[string]int{}}
	tb, err := readTables(ctx, r)
	if err != nil {
		return v, tb, err
	}
	const tol = 30 * time.Millisecond
	for _, s := range r.sessions {
		reqs := s.tr.history()
		sort.Slice(reqs, func(i, j int) bool { return reqs[i].start.Before(reqs[j].start) })
		v.figures["requests"] += len(reqs)
		for _, q := range reqs {
			v.figures["served "+q.class]++
		}
		if m := s.mutation; m != nil {
			if m.err == "" {
				v.figures["mutation accepted "+m.column]++
			} else {
				v.figures["mutation refused "+m.column]++
			}
		}
		if s.id == "" {
			v.figures["refused "+string(s.reg)]++
			if s.reg == regValid {
				v.add(s, "I1", "a valid registration was refused: %s", s.refused)
			}
			if len(reqs) > 0 {
				v.add(s, "I4", "%d requests for a session the database refused", len(reqs))
			}
			continue
		}
		v.figures["registered"]++
		if s.reg != regValid {
			v.figures["accepted "+string(s.reg)]++
		}
		w, ok := tb.sessions[s.id]
		if !ok {
			v.add(s, "I5", "the session row is gone")
			continue
		}
		v.figures["state "+w.state]++
		deadline := s.effectiveDeadline()

		// I5: identity.
		if !w.identity.same(s.identity) {
			v.add(s, "I5", "identity %s, registered as %s", w.identity, s.identity)
		}

		// I1: terminal, in time.
		bound := r.boundFor(s, tb)
		switch {
		case !terminalStates[w.state] || w.finished == nil:
			v.add(s, "I1", "state %q (finished_at %v) after the run; bound was %s", w.state, w.finished, r.rel(bound))
		case w.finished.After(bound):
			v.add(s, "I1", "finished at %s, after its bound %s (deadline %s)", r.rel(*w.finished), r.rel(bound), r.rel(deadline))
		}

		// I4: requests.
		var firstTerm *request
		for i := range reqs {
			q := &reqs[i]
			if i > 0 && q.start.Before(reqs[i-1].end.Add(-tol)) {
				v.add(s, "I4", "request at %s while the one at %s was still open (until %s)", r.rel(q.start), r.rel(reqs[i-1].start), r.rel(reqs[i-1].end))
			}
			if late := q.start.Sub(deadline); late > 0 {
				v.figures["requests after deadline"]++
				v.figures["max ms request after deadline"] = max(v.figures["max ms request after deadline"], int(late.Milliseconds()))
			}
			if q.start.After(deadline.Add(r.p.lag)) {
				v.add(s, "I4", "request at %s, past the deadline %s", r.rel(q.start), r.rel(deadline))
			}
			if firstTerm != nil && q.start.After(firstTerm.end) && !r.killBetween(firstTerm.start, q.start) {
				v.add(s, "I4", "request at %s after the terminal answer served at %s", r.rel(q.start), r.rel(firstTerm.end))
			}
			if q.terminal && q.complete && firstTerm == nil {
				firstTerm = q
			}
		}

		// I2: the true outcome.
		if terminalStates[w.state] && w.finished != nil {
			r.checkOutcome(v, s, w, reqs, deadline, tb)
		}

		// I3: one webhook-id, delivered.
		ds := tb.deliveries[s.id]
		copies := r.rc.Of(s.id)
		v.figures["webhook copies"] += len(copies)
		if len(copies) > 1 {
			v.figures["duplicate copies"] += len(copies) - 1
		}
		switch {
		case len(ds) != 1:
			v.add(s, "I3", "%d deliveries rows, want 1: %+v", len(ds), ds)
		case len(copies) == 0:
			v.add(s, "I3", "webhook %s (%s, %d attempts) never received", ds[0].webhookID, ds[0].state, ds[0].attempts)
		default:
			for i, c := range copies {
				if c.WebhookID != ds[0].webhookID {
					v.add(s, "I3", "copy %d has webhook-id %s, the delivery's is %s", i+1, c.WebhookID, ds[0].webhookID)
				}
				if c.Event.Data.State != w.state {
					v.add(s, "I3", "copy %d says state %q, the session is %q", i+1, c.Event.Data.State, w.state)
				}
				d := c.Event.Data
				if d.Provider != s.identity.provider || d.Flow != s.identity.flow || d.ExternalID != s.identity.ext || d.Account != s.identity.account {
					v.add(s, "I5", "webhook copy %d names %s/%s/%s account %s, registered as %s", i+1, d.Provider, d.Flow, d.ExternalID, d.Account, s.identity)
				}
			}
		}
	}
	for _, c := range r.rc.Conflicts() {
		v.add(nil, "I3", "%s", c)
	}
	verified, failed, bad := r.rc.Counts()
	v.figures["webhook requests failed on purpose"] = failed
	if bad > 0 {
		v.add(nil, "I3", "%d webhook requests failed verification (of %d verified)", bad, verified)
	}
	r.prov.mu.Lock()
	strays := append([]string(nil), r.prov.strays...)
	r.prov.mu.Unlock()
	for i, st := range strays {
		if i == 10 {
			v.add(nil, "I5", "... %d more requests for no registered session", len(strays)-i)
			break
		}
		v.add(nil, "I5", "provider request for no registered session (identity changed?): %s", st)
	}
	r.mu.Lock()
	for _, e := range r.dbErrs {
		v.add(nil, "I1", "%s", e)
	}
	for _, m := range r.metric {
		v.add(nil, "I6", "/metrics: %s", m)
	}
	v.figures["metrics scrapes"] = r.scrapes
	v.figures["kills"] = len(r.kills)
	r.mu.Unlock()
	for _, l := range tb.jobLeaks {
		v.add(nil, "I6", "%s", l)
	}
	v.figures["river jobs"] = tb.jobs
	v.figures["rescued jobs"] = tb.rescued
	lines, leaks, err := r.scanLogs()
	if err != nil {
		return v, tb, err
	}
	v.figures["log lines"] = lines
	for i, l := range leaks {
		if i == 20 {
			v.add(nil, "I6", "... and %d more log lines", len(leaks)-i)
			break
		}
		v.add(nil, "I6", "log: %s", l)
	}
	return v, tb, nil
}

// checkOutcome is I2 for a finished session.
func (r *run) checkOutcome(v *verdict, s *session, w row, reqs []request, deadline time.Time, tb tables) {
	var term *request
	credentials := false
	for i := range reqs {
		q := &reqs[i]
		if q.terminal && q.complete && q.end.Before(deadline.Add(-r.p.served)) {
			term = q
			break
		}
		credentials = credentials || strings.Contains(q.answer, string(classCredentials))
	}
	cancelled := !s.cancelled.IsZero()
	// How a session may end at its deadline: expired, or failed when the
	// provider refused the account's credentials on a poll that got an
	// answer (internal/jobs' deadlineState).
	atDeadline := []string{"expired"}
	if credentials {
		atDeadline = append(atDeadline, "failed")
	}
	if term == nil {
		allowed := append([]string(nil), atDeadline...)
		if cancelled {
			allowed = append(allowed, "cancelled")
		}
		for _, q := range reqs {
			if q.terminal && q.complete { // served too close to or past the deadline
				allowed = append(allowed, s.tr.script.term.want, "not_found", "expired")
			}
		}
		if !contains(allowed, w.state) {
			v.add(s, "I2", "state %q, but no terminal answer was served before the deadline (allowed: %v)", w.state, allowed)
		}
		if w.state == "expired" && !cancelled {
			window := s.finalPollWindow(r.p.lastPoll)
			from := deadline.Add(-window)
			polled := false
			for _, q := range reqs {
				// A request arriving within lag after the deadline is the
				// final poll seen late (as I4 allows it).
				if !q.start.After(deadline.Add(r.p.lag)) && !q.end.Before(from) {
					polled = true
				}
			}
			v.figures["expired at the deadline"]++
			if len(reqs) > 0 {
				gap := deadline.Sub(reqs[len(reqs)-1].end)
				v.figures["max ms from last poll to deadline"] = max(v.figures["max ms from last poll to deadline"], int(gap.Milliseconds()))
			}
			if !polled && !r.pollBlocked(s, tb, from, deadline) {
				v.add(s, "I2", "ended at its deadline %s with no poll in its last %s", r.rel(deadline), window)
			}
		}
		return
	}
	t := s.tr.script.term
	want := []string{t.want}
	if t.kind == "HTTP 404" && s.provider == "fortid" {
		// A 404 after FortID's timeout means the session expired.
		timeout := s.registered.Add(fortIDTimeout)
		switch {
		case term.start.After(timeout.Add(500 * time.Millisecond)):
			want = []string{"expired"}
		case !term.start.Before(timeout.Add(-500 * time.Millisecond)):
			want = []string{"not_found", "expired"}
		}
	}
	if cancelled && !s.cancelled.After(term.end.Add(r.p.settle)) {
		want = append(want, "cancelled")
	}
	if w.finished != nil && contains(atDeadline, w.state) && r.killBetween(term.start, earliest(term.end.Add(r.p.settle), *w.finished)) {
		// The worker that read the answer died before recording it (within
		// settle of reading it, and before the session ended), and the
		// deadline passed before another could poll again (it may not poll
		// past the deadline): the session ends as at its deadline.
		want = append(want, w.state)
	}
	if !contains(want, w.state) {
		v.add(s, "I2", "state %q, but the provider served %s at %s (want %v)", w.state, t, r.rel(term.start), want)
		return
	}
	if w.state == t.want && t.marker != "" && !strings.Contains(w.outcome, t.marker) {
		v.add(s, "I2", "outcome %.200q lacks %q from the terminal answer", w.outcome, t.marker)
	}
	if w.state == t.want && t.marker != "" {
		for i, c := range r.rc.Of(s.id) {
			if !strings.Contains(string(c.Event.Data.Outcome), t.marker) && !strings.Contains(c.Event.Data.Error, t.marker) {
				v.add(s, "I2", "webhook copy %d lacks %q from the terminal answer: outcome %.200q", i+1, t.marker, c.Event.Data.Outcome)
			}
		}
	}
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scanLogs reads every worker's log and returns its line count and the
// lines carrying a secret or canary.
func (r *run) scanLogs() (int, []string, error) {
	f, err := os.Open(r.logPath)
	if err != nil {
		return 0, nil, fmt.Errorf("scan logs: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 16<<20)
	n := 0
	var leaks []string
	for sc.Scan() {
		n++
		if hit := r.leak(sc.Text()); hit != "" {
			leaks = append(leaks, hit)
		}
	}
	return n, leaks, sc.Err()
}

// rel formats an instant relative to the run's start.
func (r *run) rel(t time.Time) string {
	return fmt.Sprintf("+%.3fs", t.Sub(r.start).Seconds())
}

func (r *run) rels(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = r.rel(t)
	}
	return out
}

// history is everything known about s, for a failure message.
func (r *run) history(s *session, tb tables) string {
	var b strings.Builder
	fmt.Fprintf(&b, "session #%d %s %s/%s ext=%s locale=%s registration=%q\n", s.n, s.id, s.provider, s.flow, s.ext, s.locale, s.reg)
	if s.id == "" {
		fmt.Fprintf(&b, "  refused by the database: %s\n", s.refused)
	} else {
		appDL := "none"
		if s.appDL > 0 {
			appDL = r.rel(s.registered.Add(s.appDL))
		}
		fmt.Fprintf(&b, "  registered %s, app deadline %s, effective deadline %s, I1 bound %s, poll job rescued at %v\n",
			r.rel(s.registered), appDL, r.rel(s.effectiveDeadline()), r.rel(r.boundFor(s, tb)), r.rels(tb.rescues[s.id]))
	}
	fmt.Fprintf(&b, "  script: %s\n", s.tr.script)
	if !s.cancelled.IsZero() {
		fmt.Fprintf(&b, "  app cancelled at %s\n", r.rel(s.cancelled))
	}
	if m := s.mutation; m != nil {
		res := "accepted"
		if m.err != "" {
			res = "refused: " + m.err
		}
		fmt.Fprintf(&b, "  app updated %s at %s: %s\n", m.column, r.rel(m.at), res)
	}
	r.mu.Lock()
	for i, k := range r.kills {
		ready := "never"
		if i < len(r.ready) {
			ready = r.rel(r.ready[i])
		}
		fmt.Fprintf(&b, "  worker killed at %s, ready again at %s\n", r.rel(k), ready)
	}
	r.mu.Unlock()
	for i, q := range s.tr.history() {
		fmt.Fprintf(&b, "  request %d %s..%s %s complete=%v %s\n", i+1, r.rel(q.start), r.rel(q.end), q.answer, q.complete, q.path)
	}
	if w, ok := tb.sessions[s.id]; ok {
		fin := "never"
		if w.finished != nil {
			fin = r.rel(*w.finished)
		}
		dl := "null"
		if w.deadline != nil {
			dl = r.rel(*w.deadline)
		}
		fmt.Fprintf(&b, "  row: %s state=%s finished=%s deadline=%s error=%.300q outcome=%.300q\n", w.identity, w.state, fin, dl, w.errText, w.outcome)
	}
	for _, d := range tb.deliveries[s.id] {
		fmt.Fprintf(&b, "  delivery %s %s %s attempts=%d\n", d.webhookID, d.eventType, d.state, d.attempts)
	}
	for i, c := range r.rc.Of(s.id) {
		fmt.Fprintf(&b, "  received copy %d at %s: %s %s state=%s\n", i+1, r.rel(c.At), c.WebhookID, c.Event.Type, c.Event.Data.State)
	}
	return b.String()
}
