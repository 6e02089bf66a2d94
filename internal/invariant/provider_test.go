package invariant

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// request is one request the provider received for a session.
type request struct {
	start, end time.Time
	answer     string // what it was answered, e.g. "step 2: 429(...)" or "terminal ok"
	class      string // the answer's class, "terminal" for the terminal answer
	terminal   bool   // the answer was the terminal one
	complete   bool   // the whole answer was written (the client read it or could have)
	path       string
}

// tracked is the provider's view of one session.
type tracked struct {
	provider   string
	script     script
	registered time.Time // set once the session is registered

	mu       sync.Mutex
	n        int // requests received
	requests []request
}

// provider is the adversarial Marksign and FortID server: it answers each
// session by its script and logs every request.
type provider struct {
	apiKey, accessToken string

	mu       sync.Mutex
	sessions map[string]*tracked // by external id
	strays   []string            // requests for no known session
}

func newProvider(apiKey, accessToken string) *provider {
	return &provider{apiKey: apiKey, accessToken: accessToken, sessions: map[string]*tracked{}}
}

// add registers the script of external id ext before the session is
// inserted (the worker may poll at once).
func (p *provider) add(ext string, tr *tracked) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sessions[ext] = tr
}

func (p *provider) stray(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.strays = append(p.strays, fmt.Sprintf(format, args...))
}

// sessionOf maps a request path to the provider and external id it polls;
// a followed redirect arrives under /moved.
func sessionOf(path string) (provider, ext string, ok bool) {
	path = strings.TrimPrefix(path, "/moved")
	if id, ok := strings.CutPrefix(path, "/verification-session/status/"); ok {
		return "fortid", id, true
	}
	path = strings.TrimPrefix(path, "/en")
	for _, prefix := range []string{"/smartid/sign/hash/status/", "/smartid/sign/status/", "/smartid/status/",
		"/mobile/sign-hash/status/", "/mobile/sign/status/", "/mobile/status/"} {
		if tok, ok := strings.CutPrefix(path, prefix); ok {
			if tok, ok := strings.CutSuffix(tok, ".json"); ok {
				return "marksign", tok, true
			}
		}
	}
	return "", "", false
}

func (p *provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	prov, ext, ok := sessionOf(r.URL.Path)
	if !ok {
		p.stray("%s %s: unknown path", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if !p.authorised(prov, r) {
		p.stray("%s %s: wrong or missing credentials", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	p.mu.Lock()
	tr := p.sessions[ext]
	p.mu.Unlock()
	if tr == nil || tr.provider != prov {
		p.stray("%s %s: no such session", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}

	tr.mu.Lock()
	idx := tr.n
	tr.n++
	servedTerminal := false
	for _, q := range tr.requests {
		servedTerminal = servedTerminal || q.terminal
	}
	var st *step
	term := false
	switch {
	case tr.script.term != nil && (servedTerminal || idx >= len(tr.script.steps) && !tr.registered.IsZero() && start.Sub(tr.registered) >= tr.script.termAt):
		term = true
	case idx < len(tr.script.steps):
		st = &tr.script.steps[idx]
	}
	tr.mu.Unlock()

	q := request{start: start, path: r.URL.Path}
	switch {
	case term:
		q.terminal, q.class = true, "terminal"
		q.answer = "terminal " + tr.script.term.kind
		q.complete = writeTerminal(w, prov, *tr.script.term)
	case st != nil:
		q.answer, q.class = fmt.Sprintf("step %d: %s", idx+1, st), string(st.class)
		q.complete = writeStep(r.Context(), w, r, prov, *st)
	default:
		q.answer, q.class = "in progress", string(classInProgress)
		q.complete = writeBody(w, http.StatusOK, inProgress(prov))
	}
	q.end = time.Now()
	tr.mu.Lock()
	tr.requests = append(tr.requests, q)
	tr.mu.Unlock()
}

func (p *provider) authorised(prov string, r *http.Request) bool {
	if prov == "fortid" {
		return r.Header.Get("X-API-KEY") == p.apiKey
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	return err == nil && json.Unmarshal(b, &body) == nil && body.AccessToken == p.accessToken
}

func inProgress(prov string) string {
	if prov == "fortid" {
		return `{"verificationSessionStatus":"IN_PROGRESS"}`
	}
	return `{"status":"waiting"}`
}

// writeBody answers status and body; it reports whether the whole body was
// written.
func writeBody(w http.ResponseWriter, status int, body string) bool {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err := io.WriteString(w, body)
	return err == nil
}

// writeStep answers a non-terminal step.
func writeStep(ctx context.Context, w http.ResponseWriter, r *http.Request, prov string, s step) bool {
	switch s.class {
	case classServerError:
		return writeBody(w, s.status, `{"error":"internal"}`)
	case classRateLimited:
		if s.retryAfter != "" {
			w.Header().Set("Retry-After", s.retryAfter)
		}
		return writeBody(w, s.status, `{"error":"slow down"}`)
	case classGarbage:
		return writeBody(w, http.StatusOK, "<html>\x00\x01 not json \xff</html>")
	case classDirtyWaiting:
		if prov == "fortid" {
			return writeBody(w, http.StatusOK, `{"verificationSessionStatus":"IN_PROGRESS","note":"x`+jsonDirt(s.dirt)+`y"}`)
		}
		return writeBody(w, http.StatusOK, `{"status":"waiting","message":"x`+jsonDirt(s.dirt)+`y"}`)
	case classUnknown:
		c := canaryPrefix + "status"
		if prov == "fortid" {
			return writeBody(w, http.StatusOK, `{"verificationSessionStatus":"`+c+`"}`)
		}
		return writeBody(w, http.StatusOK, `{"status":"`+c+`"}`)
	case classHuge:
		pad := strings.Repeat("a", 1<<20+4096)
		if prov == "fortid" {
			return writeBody(w, http.StatusOK, `{"verificationSessionStatus":"IN_PROGRESS","pad":"`+pad+`"}`)
		}
		return writeBody(w, http.StatusOK, `{"status":"waiting","pad":"`+pad+`"}`)
	case classSlow:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		body := inProgress(prov)
		rc := http.NewResponseController(w)
		for i := range len(body) {
			if _, err := io.WriteString(w, body[i:i+1]); err != nil {
				return false
			}
			if rc.Flush() != nil {
				return false
			}
			select {
			case <-ctx.Done():
				return false
			case <-time.After(1600 * time.Millisecond / time.Duration(len(body))):
			}
		}
		return true
	case classRedirect:
		w.Header().Set("Location", "/moved"+r.URL.Path)
		return writeBody(w, s.status, "")
	case classHang:
		select {
		case <-ctx.Done():
		case <-time.After(30 * time.Second):
		}
		return false
	case classTransientErr:
		if prov == "fortid" {
			return writeBody(w, http.StatusInternalServerError, `{"message":"`+canaryPrefix+`transient"}`)
		}
		return writeBody(w, http.StatusOK, fmt.Sprintf(`{"status":"error","error_code":%d,"message":"%stransient"}`, s.code, canaryPrefix))
	case classCredentials:
		if prov == "fortid" || s.code == 0 {
			return writeBody(w, http.StatusUnauthorized, `{"message":"`+canaryPrefix+`denied"}`)
		}
		return writeBody(w, http.StatusOK, fmt.Sprintf(`{"status":"error","error_code":%d,"message":"%sdenied"}`, s.code, canaryPrefix))
	}
	return writeBody(w, http.StatusOK, inProgress(prov))
}

// writeTerminal answers the terminal answer t. Personal data in it are
// canaries; the free-text fields carry t's dirt.
func writeTerminal(w http.ResponseWriter, prov string, t terminal) bool {
	d := jsonDirt(t.dirt)
	if prov == "fortid" {
		switch t.kind {
		case "VERIFICATION_SUCCEEDED":
			return writeBody(w, t.status, `{"verificationSessionStatus":"VERIFICATION_SUCCEEDED","presentedClaims":{"marker":"`+t.marker+
				`","given_name":"`+canaryPrefix+`given","family_name":"`+canaryPrefix+`family`+d+`","age":27}}`)
		case "VERIFICATION_FAILED":
			return writeBody(w, t.status, `{"verificationSessionStatus":"VERIFICATION_FAILED","description":"`+t.marker+` issuer `+d+` untrusted"}`)
		}
		return writeBody(w, t.status, `{"message":"`+canaryPrefix+`gone `+d+`"}`)
	}
	if t.kind == "ok" {
		return writeBody(w, t.status, `{"status":"ok","country":"LT","code":"`+t.marker+`","name":"`+canaryPrefix+`name","surname":"`+
			canaryPrefix+`surname`+d+`","control_code":"1234","token":"x","signature_id":"`+t.marker+`",`+
			`"file":{"name":"`+canaryPrefix+`file`+d+`.pdf","content":"","digest":"abc"},"person":{"code":"`+t.marker+`"},`+
			`"certificate":{"name":"`+canaryPrefix+`cert`+d+`","subject":{"country":"LT","serial_number":"PNOLT-`+t.marker+
			`","surname":"`+canaryPrefix+`subj`+d+`"},"issuer":{"country":"EE","common_name":"TEST of EID-SK"},`+
			`"valid_from":"2024-01-01","valid_to":"2029-01-01","value":"`+canaryPrefix+`certvalue"}}`)
	}
	return writeBody(w, t.status, fmt.Sprintf(`{"status":"error","error_code":%d,"message":"%smsg %s"}`, t.code, canaryPrefix, d))
}

// history returns a copy of the session's requests.
func (tr *tracked) history() []request {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]request(nil), tr.requests...)
}
