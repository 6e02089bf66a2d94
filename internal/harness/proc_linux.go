package harness

import (
	"os/exec"
	"syscall"
)

// configureChild makes the kernel kill the child if its parent dies without
// stopping it (SIGKILL, crash), so no worker outlives a test or the bench.
func configureChild(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
