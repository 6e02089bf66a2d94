package bench

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pollhook/pollhook/internal/testdb"
)

// TestPgProxyCounts sends known traffic through the proxy: a simple-protocol
// query, a prepared one, and a batch of three, and checks the counts of
// queries and round trips, and that the backend is found by its client port.
func TestPgProxyCounts(t *testing.T) {
	ctx := context.Background()
	p, err := startPgProxy(testdb.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	conn, err := pgx.Connect(ctx, p.url(testdb.URL()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var one int
	// Warm the statement cache so the counted query is one Bind/Execute/Sync.
	if err := conn.QueryRow(ctx, "SELECT $1::int", 1).Scan(&one); err != nil {
		t.Fatal(err)
	}
	before := p.counts()
	if _, err := conn.Exec(ctx, "SELECT 1", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT $1::int", 2).Scan(&one); err != nil {
		t.Fatal(err)
	}
	b := &pgx.Batch{}
	for i := range 3 {
		b.Queue("SELECT $1::int", i)
	}
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	d := p.counts().sub(before)
	if d.Queries != 5 || d.RoundTrips != 3 {
		t.Errorf("counted %d queries in %d round trips, want 5 in 3", d.Queries, d.RoundTrips)
	}

	var pid int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, testdb.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var found int
	if err := admin.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE client_addr = '127.0.0.1' AND client_port = ANY($1)`, p.clientPorts()).Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found != pid {
		t.Errorf("backend by client port = %d, want %d", found, pid)
	}
	if cpu, err := procCPU(os.Getpid()); err != nil || cpu < 0 {
		t.Errorf("procCPU(self) = %v, %v", cpu, err)
	}
	if _, err := procCPU(pid); err != nil {
		t.Errorf("procCPU(backend) = %v", err)
	}
}
