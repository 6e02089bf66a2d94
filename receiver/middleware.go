package receiver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
)

// messageKey is the context key of the verified Message.
type messageKey struct{}

// MessageFrom returns the message Middleware verified for this request.
func MessageFrom(ctx context.Context) (Message, bool) {
	m, ok := ctx.Value(messageKey{}).(Message)
	return m, ok
}

// Middleware verifies each request before next sees it:
//
//   - a body over MaxBodyBytes gets 413;
//   - missing or malformed headers get 400, a bad signature or a timestamp
//     outside the tolerance 401, each with a plain-text reason;
//   - a webhook-id the Store has seen gets 200 without calling next, since
//     pollhook delivers at least once;
//   - otherwise next is called with the body restored and the Message in
//     the request's context (MessageFrom). When next answers 2xx the id is
//     remembered, so a failed handler gets the retry.
//
// Two deliveries of one id arriving at once may both reach next: make the
// handler idempotent where that matters.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, v.maxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "receiver: body larger than "+strconv.FormatInt(v.maxBody, 10)+" bytes", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "receiver: cannot read body", http.StatusBadRequest)
			return
		}
		m, err := v.Verify(r.Header, body)
		if err != nil {
			status := http.StatusUnauthorized
			if errors.Is(err, ErrMissingHeaders) || errors.Is(err, ErrInvalidHeaders) {
				status = http.StatusBadRequest
			}
			http.Error(w, err.Error(), status)
			return
		}
		seen, err := v.store.Seen(ctx, m.ID)
		if err != nil {
			http.Error(w, "receiver: dedupe store unavailable", http.StatusServiceUnavailable)
			return
		}
		if seen {
			w.Header().Set("content-type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "duplicate webhook-id: already processed\n")
			return
		}

		r2 := r.WithContext(context.WithValue(ctx, messageKey{}, m))
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r2)
		if status := rec.statusOrOK(); status >= 200 && status < 300 {
			// The answer is on its way; a store failure now only means a
			// later duplicate is processed again.
			_ = v.store.Remember(context.WithoutCancel(ctx), m.ID)
		}
	})
}

// statusRecorder notes the status a handler answers with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the status before passing it on.
func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write passes b on, recording an implicit 200.
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// statusOrOK is the answered status; a handler that wrote nothing answered
// 200.
func (r *statusRecorder) statusOrOK() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
