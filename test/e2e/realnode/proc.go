//go:build linux

package realnode

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vtmeta/vtmeta/test/e2e/plane"
)

// proc is a process the node started, its output in a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// run starts a process that dies with the test (plane.ChildAttr).
func (n *Node) run(name, path string, args ...string) error {
	f, err := os.Create(filepath.Join(n.dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.SysProcAttr = plane.ChildAttr()
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: f, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	n.procs = append(n.procs, p)
	return nil
}

// stop asks the process to end, kills it after a few seconds, and waits.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.log.Close()
}

// Processes are the node's own processes (containerd, its shims, kubelet,
// kube-proxy, CoreDNS) and its Pods' containers, by name, with their
// resident memory in bytes: what the node costs the machine.
func (n *Node) Processes() map[string]int64 {
	out := map[string]int64{}
	for _, pid := range nodePIDs() {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		out[fmt.Sprintf("%s[%d]", trim(comm), pid)] = rss(pid)
	}
	return out
}

func trim(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return string(b)
}
