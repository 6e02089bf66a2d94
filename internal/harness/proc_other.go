//go:build !linux

package harness

import "os/exec"

// configureChild has nothing to set outside Linux.
func configureChild(*exec.Cmd) {}
