//go:build !linux

package plane

import "syscall"

// childAttr is nil where the kernel cannot tie a child's life to its
// parent's: Stop is then the only teardown.
func childAttr() *syscall.SysProcAttr { return nil }
