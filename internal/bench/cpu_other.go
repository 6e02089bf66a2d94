//go:build !linux

package bench

import "errors"

var errNoProc = errors.New("CPU times come from /proc: Linux only")

// procCPU needs /proc.
func procCPU(int) (float64, error) { return 0, errNoProc }

// postgresCPU needs /proc.
func postgresCPU() (float64, error) { return 0, errNoProc }
