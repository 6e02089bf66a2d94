package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/pollhook/pollhook/internal/retryafter"
	"github.com/pollhook/pollhook/internal/whsig"
)

// Sender defaults.
const (
	DefaultTimeout         = 15 * time.Second
	DefaultMaxResponseBody = 4096
	defaultUserAgent       = "pollhook"
	// drainLimit bounds how much more of a response is read, beyond what is
	// kept, so its connection can be reused.
	drainLimit = 64 << 10
)

// SenderConfig configures a Sender.
type SenderConfig struct {
	// Timeout bounds one attempt, from dialling to reading the response
	// (default 15s).
	Timeout time.Duration
	// Guard refuses private and reserved targets.
	Guard Guard
	// UserAgent is the user-agent header (default "pollhook").
	UserAgent string
	// MaxResponseBody is how many bytes of a response an Attempt keeps
	// (default 4096).
	MaxResponseBody int
}

// Sender POSTs webhooks. It keeps a pool of keep-alive connections, never
// follows redirects, and dials only what its Guard allows. It is safe for
// concurrent use.
type Sender struct {
	cfg    SenderConfig
	client *http.Client
}

// NewSender returns a Sender, filling cfg's defaults.
func NewSender(cfg SenderConfig) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = defaultUserAgent
	}
	if cfg.MaxResponseBody <= 0 {
		cfg.MaxResponseBody = DefaultMaxResponseBody
	}
	// Start from the standard library's transport (HTTP/2, its idle, TLS
	// and continue timeouts), without its proxy: a proxy would dial for
	// us, past the Guard.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	transport.DialContext = cfg.Guard.DialContext(&net.Dialer{Timeout: min(cfg.Timeout, 10*time.Second), KeepAlive: 30 * time.Second})
	transport.ResponseHeaderTimeout = cfg.Timeout
	// Enough idle connections that every deliver worker posting to one
	// busy subscriber reuses one rather than dialling anew.
	transport.MaxIdleConns = 256
	transport.MaxIdleConnsPerHost = 64
	return &Sender{
		cfg: cfg,
		client: &http.Client{
			Transport: transport,
			Timeout:   cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// Timeout is how long one attempt may take.
func (s *Sender) Timeout() time.Duration { return s.cfg.Timeout }

// CloseIdleConnections closes the Sender's idle keep-alive connections.
func (s *Sender) CloseIdleConnections() { s.client.CloseIdleConnections() }

// Message is one webhook to send.
type Message struct {
	// ID is the webhook-id, the same on every attempt.
	ID string
	// Timestamp is the webhook-timestamp of this attempt.
	Timestamp time.Time
	// Body is the JSON payload, sent as is.
	Body []byte
	// Secrets are the subscriber's active signing secrets; the message is
	// signed with each.
	Secrets []string
	// URL is the subscriber's endpoint.
	URL string
	// Headers are the subscriber's custom headers (ValidateHeader); a
	// reserved one is skipped, never sent.
	Headers map[string]string
}

// Attempt is the result of one POST.
type Attempt struct {
	// StartedAt is when the attempt began.
	StartedAt time.Time
	// Duration is how long it took, up to the end of reading the response.
	Duration time.Duration
	// StatusCode is the response status, or 0 if none came.
	StatusCode int
	// ResponseBody is the start of the response body (at most
	// SenderConfig.MaxResponseBody bytes).
	ResponseBody []byte
	// Err is why no response came: the target was refused (*RefusedError),
	// the connection failed, the attempt timed out. Nil when a response
	// came, whatever its status.
	Err error
	// RetryAfter is the wait a 429 or 503 response asked for with
	// Retry-After; zero if none.
	RetryAfter time.Duration
}

// Succeeded reports whether the receiver answered 2xx.
func (a Attempt) Succeeded() bool {
	return a.Err == nil && a.StatusCode >= 200 && a.StatusCode < 300
}

// Gone reports whether the receiver answered 410 Gone: it wants no more
// webhooks.
func (a Attempt) Gone() bool {
	return a.Err == nil && a.StatusCode == http.StatusGone
}

// ErrorString returns what the attempt log stores as the error: the network
// error, or "HTTP <status>" for a response that is not 2xx; "" on success.
func (a Attempt) ErrorString() string {
	switch {
	case a.Err != nil:
		var uerr *url.Error
		if errors.As(a.Err, &uerr) {
			// url.Error repeats the method and URL, which the log has.
			return uerr.Err.Error()
		}
		return a.Err.Error()
	case a.Succeeded():
		return ""
	case a.StatusCode >= 300 && a.StatusCode < 400:
		return fmt.Sprintf("HTTP %d (redirects are not followed)", a.StatusCode)
	default:
		return fmt.Sprintf("HTTP %d", a.StatusCode)
	}
}

// Send POSTs m once and reports what happened; it never retries. The
// headers are the subscriber's custom headers, then content-type:
// application/json, webhook-id, webhook-timestamp, webhook-signature and
// user-agent.
func (s *Sender) Send(ctx context.Context, m Message) Attempt {
	a := Attempt{StartedAt: time.Now()}
	a.StatusCode, a.ResponseBody, a.RetryAfter, a.Err = s.send(ctx, m)
	a.Duration = time.Since(a.StartedAt)
	return a
}

func (s *Sender) send(ctx context.Context, m Message) (int, []byte, time.Duration, error) {
	u, err := s.cfg.Guard.CheckURL(m.URL)
	if err != nil {
		return 0, nil, 0, err
	}
	sig, err := Sign(m.ID, m.Timestamp, m.Body, m.Secrets)
	if err != nil {
		return 0, nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(m.Body))
	if err != nil {
		return 0, nil, 0, fmt.Errorf("webhook: build request: %w", err)
	}
	for name, value := range m.Headers {
		if ValidateHeader(name, value) == nil {
			req.Header.Set(name, value)
		}
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("user-agent", s.cfg.UserAgent)
	req.Header.Set(whsig.HeaderID, m.ID)
	req.Header.Set(whsig.HeaderTimestamp, strconv.FormatInt(m.Timestamp.Unix(), 10))
	req.Header.Set(whsig.HeaderSignature, sig)

	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	// A body that fails halfway still leaves the status, which decides.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, int64(s.cfg.MaxResponseBody)))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	var retryAfter time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		// Anything beyond a year is as good as a year.
		retryAfter = retryafter.Parse(resp.Header.Get("retry-after"), time.Now(), 366*24*time.Hour)
	}
	return resp.StatusCode, body, retryAfter, nil
}
