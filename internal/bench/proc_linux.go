package bench

import (
	"os/exec"
	"syscall"
)

// configureChild makes the kernel kill the worker if the bench dies
// without stopping it (SIGKILL, crash).
func configureChild(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
