package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
)

// pgProxy is a TCP proxy in front of Postgres that counts what its clients
// send: queries (simple Query and extended-protocol Execute messages) and
// round trips (each Query or Sync waits for one ReadyForQuery). Put between
// a worker process and Postgres, it measures the worker's database traffic
// exactly and from outside the process, and it knows the client ports of
// its upstream connections, which name the Postgres backends serving the
// worker in pg_stat_activity.
type pgProxy struct {
	ln       net.Listener
	upstream string

	queries    atomic.Int64
	roundTrips atomic.Int64
	bytesOut   atomic.Int64

	mu    sync.Mutex
	ports map[int]bool // local ports of the upstream connections, open or closed
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// pgCounts is a snapshot of a pgProxy's counters.
type pgCounts struct {
	Queries, RoundTrips, BytesOut int64
}

func (c pgCounts) sub(o pgCounts) pgCounts {
	return pgCounts{c.Queries - o.Queries, c.RoundTrips - o.RoundTrips, c.BytesOut - o.BytesOut}
}

// startPgProxy listens on a free loopback port and forwards to the host of
// databaseURL.
func startPgProxy(databaseURL string) (*pgProxy, error) {
	u, err := url.Parse(databaseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("pg proxy: need a postgres:// URL with a host, got %q", databaseURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pg proxy: %w", err)
	}
	p := &pgProxy{ln: ln, upstream: host, ports: map[int]bool{}, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// url is databaseURL with its host replaced by the proxy's and TLS off (the
// proxy reads the protocol).
func (p *pgProxy) url(databaseURL string) string {
	u, _ := url.Parse(databaseURL)
	u.Host = p.ln.Addr().String()
	q := u.Query()
	q.Set("sslmode", "disable")
	u.RawQuery = q.Encode()
	return u.String()
}

func (p *pgProxy) counts() pgCounts {
	return pgCounts{p.queries.Load(), p.roundTrips.Load(), p.bytesOut.Load()}
}

// clientPorts lists the local ports of every upstream connection so far.
func (p *pgProxy) clientPorts() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]int, 0, len(p.ports))
	for port := range p.ports {
		out = append(out, port)
	}
	return out
}

func (p *pgProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *pgProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c)
		}()
	}
}

func (p *pgProxy) serve(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	defer server.Close()
	p.mu.Lock()
	p.ports[server.LocalAddr().(*net.TCPAddr).Port] = true
	p.conns[client], p.conns[server] = true, true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, client)
		delete(p.conns, server)
		p.mu.Unlock()
	}()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(client, server)
		_ = client.Close()
		close(done)
	}()
	_ = p.forward(server, client)
	_ = server.Close()
	<-done
}

// Frontend message types that are counted.
const (
	msgQuery   = 'Q'
	msgExecute = 'E'
	msgSync    = 'S'
)

// sslRequestCode is the SSLRequest (and GSSENCRequest's neighbour) startup
// code: the server answers it with one byte.
const (
	sslRequestCode    = 80877103
	gssencRequestCode = 80877104
)

// forward copies the client's messages to the server, counting them. The
// first messages (SSLRequest, GSSENCRequest, StartupMessage) have no type
// byte.
func (p *pgProxy) forward(server io.Writer, client io.Reader) error {
	var hdr [5]byte
	startup := true
	buf := make([]byte, 32<<10)
	for {
		if startup {
			if _, err := io.ReadFull(client, hdr[:4]); err != nil {
				return err
			}
			n := int(binary.BigEndian.Uint32(hdr[:4]))
			if n < 8 || n > 1<<20 {
				return errors.New("pg proxy: bad startup length")
			}
			body := make([]byte, n-4)
			if _, err := io.ReadFull(client, body); err != nil {
				return err
			}
			code := binary.BigEndian.Uint32(body[:4])
			if _, err := server.Write(append(hdr[:4:4], body...)); err != nil {
				return err
			}
			if code != sslRequestCode && code != gssencRequestCode {
				startup = false
			}
			continue
		}
		if _, err := io.ReadFull(client, hdr[:]); err != nil {
			return err
		}
		n := int64(binary.BigEndian.Uint32(hdr[1:])) - 4
		if n < 0 {
			return errors.New("pg proxy: bad message length")
		}
		switch hdr[0] {
		case msgQuery:
			p.queries.Add(1)
			p.roundTrips.Add(1)
		case msgExecute:
			p.queries.Add(1)
		case msgSync:
			p.roundTrips.Add(1)
		}
		p.bytesOut.Add(5 + n)
		if _, err := server.Write(hdr[:]); err != nil {
			return err
		}
		if _, err := io.CopyBuffer(server, io.LimitReader(client, n), buf); err != nil {
			return err
		}
	}
}
