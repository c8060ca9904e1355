package plane

import "syscall"

// ChildAttr makes every process the plane starts die with the process
// that started it, so a test killed by a timeout or a panic leaves no
// apiserver behind.
func ChildAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
