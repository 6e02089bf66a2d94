package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	t.Parallel()
	set := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"nothing recorded", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"module version", debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: set("vcs.revision", "abc")}, "v1.2.3"},
		{"clean revision", debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: set("vcs.revision", "0123456789abcdef0123", "vcs.modified", "false")}, "devel-0123456789ab"},
		{"dirty short revision", debug.BuildInfo{Settings: set("vcs.revision", "abc", "vcs.modified", "true")}, "devel-abc-dirty"},
	}
	for _, tt := range tests {
		if got := fromBuildInfo(&tt.info); got != tt.want {
			t.Errorf("%s: fromBuildInfo = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestStringAndUserAgent(t *testing.T) {
	// A test binary carries no stamp and no VCS revision.
	if got := String(); got == "" || strings.ContainsAny(got, " \n") {
		t.Fatalf("String() = %q", got)
	}
	if got := UserAgent(); got != "pollhook/"+String() {
		t.Fatalf("UserAgent() = %q", got)
	}
}

func TestLine(t *testing.T) {
	t.Parallel()
	got := Line("worker")
	if !strings.HasPrefix(got, "worker pollhook "+String()+" (go") || !strings.Contains(got, "/") {
		t.Fatalf("Line = %q", got)
	}
}
