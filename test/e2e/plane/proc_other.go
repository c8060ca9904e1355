//go:build !linux

package plane

import "syscall"

// ChildAttr is nil where the kernel cannot tie a child's life to its
// parent's: Stop is then the only teardown.
func ChildAttr() *syscall.SysProcAttr { return nil }
