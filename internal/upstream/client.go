package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client polls FortID and Marksign sessions. It implements Poller by
// dispatching on Session.Provider and Session.Flow, and is safe for
// concurrent use: all polls share one connection pool.
type Client struct {
	cfg    Config
	http   *http.Client
	logger *slog.Logger
	now    func() time.Time
}

var _ Poller = (*Client)(nil)

// New returns a Client for cfg, with Config's defaults applied to its zero
// fields. A nil logger discards the logs. Per-request debug logs name the
// flow, session id, HTTP status and duration, never a credential or
// personal data.
func New(cfg Config, logger *slog.Logger) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Start from the standard library's transport (proxy from the
	// environment, HTTP/2, its idle and continue timeouts) and size it to
	// the poll slots.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
	transport.TLSHandshakeTimeout = cfg.ConnectTimeout
	transport.MaxIdleConns = cfg.MaxConns * 2
	transport.MaxIdleConnsPerHost = cfg.MaxConns
	transport.MaxConnsPerHost = cfg.MaxConns
	return &Client{
		cfg: cfg,
		http: &http.Client{
			Transport: transport,
			// A redirect is answered as is: following it would resend the
			// credential to wherever it points.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		logger: logger,
		now:    time.Now,
	}, nil
}

// Poll asks the session's provider for its status once. See Poller.
func (c *Client) Poll(ctx context.Context, s Session) (Result, error) {
	start := time.Now()
	var (
		res Result
		err error
	)
	switch s.Provider {
	case ProviderFortID:
		res, err = c.pollFortID(ctx, s)
	case ProviderMarksign:
		res, err = c.pollMarksign(ctx, s)
	default:
		err = fmt.Errorf("upstream: session %s: unknown provider %q", s.ID, s.Provider)
	}
	if err != nil {
		return Result{}, err
	}
	attrs := []slog.Attr{
		slog.String("provider", string(s.Provider)),
		slog.String("flow", string(s.Flow)),
		slog.String("session_id", s.ID),
		slog.Int("http_status", res.HTTPStatus),
		slog.Duration("duration", time.Since(start)),
		slog.String("state", string(res.State)),
	}
	if res.Transient {
		attrs = append(attrs, slog.Bool("transient", true))
	}
	if res.CredentialsProblem {
		attrs = append(attrs, slog.Bool("credentials_problem", true))
	}
	if res.ErrorCode != 0 {
		attrs = append(attrs, slog.Int("error_code", res.ErrorCode))
	}
	if res.UnknownStatus != "" {
		// Provider text: its length only.
		attrs = append(attrs, slog.Int("unknown_status_len", len(res.UnknownStatus)))
	}
	if res.Err != nil {
		attrs = append(attrs, slog.String("error", res.Err.Error()))
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "upstream poll", attrs...)
	return res, nil
}

// CloseIdleConnections closes the idle connections of the pool.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// credential returns the credential of the session's account.
func credential(provider string, accounts Accounts, s Session) (string, error) {
	account := s.Account
	if account == "" {
		account = DefaultAccount
	}
	secret, ok := accounts[account]
	if !ok || secret == "" {
		return "", fmt.Errorf("%s: session %s: unknown account %q (configured: %s)", provider, s.ID, account, strings.Join(accounts.Names(), ", "))
	}
	return secret, nil
}

// answer is an HTTP answer read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// exchange sends one request and reads its answer within the request
// timeout. An error means no usable answer arrived: the caller reports it as
// a transient failure. The answer's status is set when one arrived.
func (c *Client) exchange(ctx context.Context, method, rawURL string, header http.Header, body []byte) (answer, error) {
	if err := ctx.Err(); err != nil {
		return answer{}, fmt.Errorf("not sent: %w", context.Cause(ctx))
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(rctx, method, rawURL, reader)
	if err != nil {
		return answer{}, fmt.Errorf("build request: %w", err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, transportError(ctx, rctx, c.cfg.RequestTimeout, err)
	}
	defer resp.Body.Close()
	ans := answer{status: resp.StatusCode, header: resp.Header}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBodyBytes+1))
	if err != nil {
		return ans, fmt.Errorf("HTTP %d: read answer: %w", resp.StatusCode, transportError(ctx, rctx, c.cfg.RequestTimeout, err))
	}
	if int64(len(data)) > c.cfg.MaxBodyBytes {
		return ans, fmt.Errorf("HTTP %d: answer body is larger than the %d bytes limit", resp.StatusCode, c.cfg.MaxBodyBytes)
	}
	ans.body = data
	return ans, nil
}

// transportError describes a failed exchange without its URL: the caller's
// cancellation, the request timeout, or the network error.
func transportError(parent, rctx context.Context, timeout time.Duration, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	switch {
	case parent.Err() != nil:
		return fmt.Errorf("cancelled: %w", context.Cause(parent))
	case rctx.Err() != nil:
		return fmt.Errorf("no answer within the %s request timeout: %w", timeout, rctx.Err())
	}
	return err
}

// maxRetryAfter caps the wait a provider's Retry-After asks for.
const maxRetryAfter = 24 * time.Hour

// transientResult is the Result of an exchange that failed.
func transientResult(status int, err error) Result {
	return Result{State: StateInProgress, Transient: true, HTTPStatus: status, Err: err}
}

// redact removes secret from what a Result carries out of the client, in
// case a provider echoes it back.
func redact(res Result, secret string) Result {
	if secret == "" {
		return res
	}
	const mask = "[redacted]"
	res.Message = strings.ReplaceAll(res.Message, secret, mask)
	res.UnknownStatus = strings.ReplaceAll(res.UnknownStatus, secret, mask)
	if res.Err != nil && strings.Contains(res.Err.Error(), secret) {
		res.Err = errors.New(strings.ReplaceAll(res.Err.Error(), secret, mask))
	}
	if bytes.Contains(res.Answer, []byte(secret)) {
		res.Answer = bytes.ReplaceAll(res.Answer, []byte(secret), []byte(mask))
	}
	return res
}
