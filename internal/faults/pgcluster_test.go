package faults

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/harness"
)

// pgCluster is a private PostgreSQL cluster in a test's temporary directory,
// on its own port: restarting it disturbs no other test.
type pgCluster struct {
	bin     string // directory of initdb, pg_ctl, postgres
	data    string
	sock    string
	port    int
	logPath string
	asUser  *user.User // the OS user running the server when the test runs as root
	// URL connects to its "postgres" database as user postgres.
	URL string
}

// pgBinDir returns the directory of the newest installed PostgreSQL's
// binaries (/usr/lib/postgresql/<version>/bin), else that of initdb on PATH.
func pgBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi < vj
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		return "", fmt.Errorf("no PostgreSQL binaries in /usr/lib/postgresql/*/bin nor initdb on PATH (scripts/pg.sh installs them): %w", err)
	}
	return filepath.Dir(initdb), nil
}

// startPGCluster initialises and starts a cluster in t.TempDir() on a free
// port; it is stopped when t ends. Under root (CI) the server runs as the
// postgres OS user, as PostgreSQL refuses root.
func startPGCluster(ctx context.Context, t testing.TB) *pgCluster {
	t.Helper()
	bin, err := pgBinDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &pgCluster{bin: bin, data: filepath.Join(dir, "data"), sock: filepath.Join(dir, "sock"), logPath: filepath.Join(dir, "server.log")}
	if err := os.Mkdir(c.sock, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if c.asUser, err = user.Lookup("postgres"); err != nil {
			t.Fatalf("tests run as root but there is no postgres OS user to run a private cluster: %v", err)
		}
		// t.TempDir's parent is 0700: let the postgres user through.
		if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := c.chown(dir, c.sock); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.run(ctx, "initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	// A free port may be taken between choosing and binding it: try a few.
	for attempt := 1; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			t.Fatal(err)
		}
		c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
		err = c.start(ctx)
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("%v\n%s", err, harness.LogTail(c.logPath, 20))
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if out, err := c.run(ctx, "pg_ctl", "-D", c.data, "-m", "immediate", "-w", "stop"); err != nil {
			t.Logf("stop private cluster: %v\n%s", err, out)
		}
	})
	return c
}

// start starts the server and waits until it accepts connections.
func (c *pgCluster) start(ctx context.Context) error {
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=200", c.port, c.sock)
	if out, err := c.run(ctx, "pg_ctl", "-D", c.data, "-l", c.logPath, "-o", opts, "-w", "-t", "60", "start"); err != nil {
		return fmt.Errorf("pg_ctl start on port %d: %w\n%s", c.port, err, out)
	}
	return nil
}

// stop stops the server with the fast mode: sessions are disconnected,
// running transactions rolled back.
func (c *pgCluster) stop(ctx context.Context) error {
	if out, err := c.run(ctx, "pg_ctl", "-D", c.data, "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// run runs one of the cluster's binaries, as the postgres user under root.
func (c *pgCluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.asUser != nil {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.asUser.Username, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = filepath.Dir(c.data)
	// The postmaster pg_ctl leaves behind writes to its log file, but do not
	// let an inherited descriptor keep Wait waiting.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// chown gives paths to the cluster's OS user.
func (c *pgCluster) chown(paths ...string) error {
	uid, err := strconv.Atoi(c.asUser.Uid)
	if err != nil {
		return fmt.Errorf("chown: uid %q: %w", c.asUser.Uid, err)
	}
	gid, err := strconv.Atoi(c.asUser.Gid)
	if err != nil {
		return fmt.Errorf("chown: gid %q: %w", c.asUser.Gid, err)
	}
	for _, p := range paths {
		if err := os.Chown(p, uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", p, err)
		}
	}
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
