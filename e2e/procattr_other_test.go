//go:build !linux

package e2e

import "os/exec"

// dieWithParent does nothing here: only Linux can tie a child's life to its
// parent's. TestMain stops the demo when the tests end normally.
func dieWithParent(*exec.Cmd) {}
