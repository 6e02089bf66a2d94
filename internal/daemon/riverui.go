package daemon

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"

	"riverqueue.com/riverui"
)

// riverUIPrefix is where River UI is mounted.
const riverUIPrefix = "/riverui"

// mountRiverUI serves River UI over pollhook's schema at /riverui/, behind
// basic auth, or explains at that path how to enable it.
func (d *Daemon) mountRiverUI(ctx context.Context, mux *http.ServeMux) error {
	if !d.cfg.RiverUI.Enabled() {
		mux.HandleFunc(riverUIPrefix+"/", func(rw http.ResponseWriter, _ *http.Request) {
			http.Error(rw, "River UI is disabled: set POLLHOOK_RIVERUI_USER and POLLHOOK_RIVERUI_PASSWORD (or POLLHOOK_RIVERUI_INSECURE=true for local use)", http.StatusForbidden)
		})
		return nil
	}
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints:                riverui.NewEndpoints(d.Service.Client, nil),
		JobListHideArgsByDefault: false,
		Logger:                   d.logger.With("component", "riverui"),
		Prefix:                   riverUIPrefix,
	})
	if err != nil {
		return fmt.Errorf("daemon: river ui: %w", err)
	}
	if err := h.Start(ctx); err != nil {
		return fmt.Errorf("daemon: start river ui: %w", err)
	}
	var handler http.Handler = h
	if !d.cfg.RiverUI.Insecure {
		handler = basicAuth(d.cfg.RiverUI.User, d.cfg.RiverUI.Password, h)
	}
	mux.Handle(riverUIPrefix+"/", handler)
	return nil
}

// basicAuth guards next with HTTP basic auth, comparing in constant time.
func basicAuth(user, password string, next http.Handler) http.Handler {
	wantUser, wantPass := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		gotUser, gotPass := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		userOK := subtle.ConstantTimeCompare(gotUser[:], wantUser[:])
		passOK := subtle.ConstantTimeCompare(gotPass[:], wantPass[:])
		if !ok || userOK&passOK != 1 {
			rw.Header().Set("WWW-Authenticate", `Basic realm="pollhook River UI", charset="UTF-8"`)
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(rw, r)
	})
}
