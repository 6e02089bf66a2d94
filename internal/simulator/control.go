package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// PollCounts is the answer of GET /_sim/polls/{id}.
type PollCounts struct {
	// Polls counts every poll of the id, chaos answers included.
	Polls int `json:"polls"`
	// ScriptedPolls counts the polls answered by the id's scenario.
	ScriptedPolls int `json:"scripted_polls"`
	// TerminalSince is when the id was first answered with a terminal
	// answer; null if it has not been.
	TerminalSince *time.Time `json:"terminal_since"`
}

// servePutScenario serves PUT /_sim/scenarios/{id}.
func (s *Simulator) servePutScenario(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, fmt.Sprintf("read scenario: %v", err), http.StatusBadRequest)
		return
	}
	// Unknown fields are refused: a typo must not silently change nothing.
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var sc Scenario
	err = dec.Decode(&scenarioJSON{})
	if err == nil {
		err = json.Unmarshal(body, &sc)
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("bad scenario: %v", err), http.StatusBadRequest)
		return
	}
	if err := s.SetScenario(r.PathValue("id"), sc); err != nil {
		http.Error(w, fmt.Sprintf("bad scenario: %v", err), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// serveGetScenario serves GET /_sim/scenarios/{id}.
func (s *Simulator) serveGetScenario(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, s.Scenario(r.PathValue("id")))
}

// servePolls serves GET /_sim/polls/{id}.
func (s *Simulator) servePolls(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, s.Counts(r.PathValue("id")))
}

// Counts returns the poll counts of id.
func (s *Simulator) Counts(id string) PollCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.sessions[id]
	if !ok {
		return PollCounts{}
	}
	pc := PollCounts{Polls: st.polls, ScriptedPolls: st.scripted}
	if !st.terminalSince.IsZero() {
		t := st.terminalSince
		pc.TerminalSince = &t
	}
	return pc
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}
