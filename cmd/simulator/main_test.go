package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SIMULATOR_ADDR": "0.0.0.0:9000", "SIMULATOR_CHAOS": "0.2", "SIMULATOR_FORTID_API_KEY": "k"}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	tests := []struct {
		name    string
		args    []string
		want    options
		wantErr string
	}{
		{name: "env defaults", want: options{addr: "0.0.0.0:9000", chaos: 0.2, slowDelay: 15 * time.Second, fortIDAPIKey: "k", logLevel: slog.LevelInfo}},
		{name: "flags win", args: []string{"-addr", ":1", "-chaos", "1", "-seed", "9", "-slow-delay", "1s", "-marksign-access-token", "m", "-log-level", "debug"},
			want: options{addr: ":1", chaos: 1, seed: 9, slowDelay: time.Second, fortIDAPIKey: "k", marksignAccessToken: "m", logLevel: slog.LevelDebug}},
		{name: "chaos out of range", args: []string{"-chaos", "1.5"}, wantErr: "between 0 and 1"},
		{name: "bad seed", args: []string{"-seed", "-1"}, wantErr: "seed"},
		{name: "bad delay", args: []string{"-slow-delay", "15"}, wantErr: "Go duration"},
		{name: "bad level", args: []string{"-log-level", "loud"}, wantErr: "log level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(tt.args, lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parse = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
