package reliability

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill a service if the test process dies first (a
// panic, a -timeout), so that no service outlives the run.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
