package main

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill the service if the benchmark dies first (a panic,
// kill -9), so that no service outlives the run.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
