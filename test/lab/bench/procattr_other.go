//go:build !linux

package main

import "os/exec"

// setProcAttr has nothing to set outside Linux; the benchmark stops the service itself.
func setProcAttr(*exec.Cmd) {}
