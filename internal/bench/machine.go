package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Machine describes where a run happened.
type Machine struct {
	// CPUs is the number of CPUs usable by this process (nproc).
	CPUs int `json:"cpus"`
	// MemoryBytes is MemTotal of /proc/meminfo (0 if unknown).
	MemoryBytes int64 `json:"memory_bytes"`
	// GoVersion is the toolchain the bench was built with.
	GoVersion string `json:"go_version"`
	// Postgres is SELECT version().
	Postgres string `json:"postgres"`
	// OS and Arch are the Go platform.
	OS   string `json:"os"`
	Arch string `json:"arch"`
}

// DescribeMachine gathers Machine, asking Postgres at url for its version.
func DescribeMachine(ctx context.Context, url string) (Machine, error) {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, MemoryBytes: memTotal()}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return m, fmt.Errorf("bench: connect to Postgres: %w", err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&m.Postgres); err != nil {
		return m, fmt.Errorf("bench: Postgres version: %w", err)
	}
	return m, nil
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
