//go:build !linux

package bench

import "os/exec"

// configureChild has nothing to set outside Linux.
func configureChild(*exec.Cmd) {}
