package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestPermanentDBError(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "22021"}, true},  // invalid byte sequence
		{&pgconn.PgError{Code: "22P05"}, true},  // unsupported Unicode escape (\u0000)
		{&pgconn.PgError{Code: "22003"}, true},  // numeric overflow
		{&pgconn.PgError{Code: "23514"}, true},  // check violation (the sessions guard)
		{&pgconn.PgError{Code: "P0001"}, true},  // raise in a trigger
		{&pgconn.PgError{Code: "42703"}, true},  // undefined column
		{&pgconn.PgError{Code: "40001"}, false}, // serialization failure
		{&pgconn.PgError{Code: "40P01"}, false}, // deadlock
		{&pgconn.PgError{Code: "57P01"}, false}, // admin shutdown
		{&pgconn.PgError{Code: "08006"}, false}, // connection failure
		{&pgconn.PgError{Code: "53300"}, false}, // too many connections
		{&pgconn.PgError{Code: "55P03"}, false}, // lock not available
		{fmt.Errorf("finish: %w", &pgconn.PgError{Code: "22021"}), true},
		{io.ErrUnexpectedEOF, false},
		{context.DeadlineExceeded, false},
		{errors.New("other"), false},
	} {
		if got := permanentDBError(tt.err); got != tt.want {
			t.Errorf("permanentDBError(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
