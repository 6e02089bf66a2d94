// Package version holds pollhook's version: the one its commands print with
// --version and its HTTP clients send in their User-Agent.
//
// Builds stamp it with the linker:
//
//	go build -ldflags "-X github.com/pollhook/pollhook/internal/version.stamp=$(git describe --tags --always --dirty)" ./cmd/...
//
// (make install, make build and the Dockerfile do). Without a stamp it is
// read from the VCS information Go records in the binary, and is "dev" when
// there is none (go run, go test).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// stamp is set by the linker (-X); it is never assigned at run time.
var stamp string

// String returns pollhook's version: the linker stamp, else the revision Go
// recorded at build time ("devel-<12 hex>" with "-dirty" if the tree had
// changes), else "dev".
func String() string {
	if v := strings.TrimSpace(stamp); v != "" {
		return v
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return fromBuildInfo(info)
}

// fromBuildInfo derives a version from a binary's build information: the
// main module's version when it was installed as a tagged module (go install
// ...@v1.2.3), else the VCS revision, else "dev".
func fromBuildInfo(info *debug.BuildInfo) string {
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v := "devel-" + rev
	if dirty {
		v += "-dirty"
	}
	return v
}

// UserAgent is the User-Agent pollhook sends to providers and subscribers:
// "pollhook/" and the version.
func UserAgent() string { return "pollhook/" + String() }

// Line is what a command prints for --version: its name, pollhook's version
// and the Go toolchain and platform it was built for, e.g.
// "worker pollhook v0.3.0 (go1.26.0 linux/amd64)".
func Line(command string) string {
	return fmt.Sprintf("%s pollhook %s (%s %s/%s)", command, String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
