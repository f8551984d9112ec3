package e2e

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the demo when the test binary dies,
// so that a test binary killed by its timeout leaves no server behind.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
