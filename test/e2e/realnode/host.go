//go:build linux

package realnode

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vtmeta/vtmeta/test/e2e/plane"
)

// takeLock takes the host-wide lock a node holds while it runs. The kernel
// releases it when the process dies, however it dies.
func takeLock() (*os.File, error) {
	f, err := os.OpenFile(lockFile, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("real node lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(lockFile)
		f.Close()
		return nil, fmt.Errorf("another real node runs on this machine (lock %s held by pid %s): one at a time", lockFile, strings.TrimSpace(string(holder)))
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// cleanup removes everything a node creates, whether this process's node
// or one a killed test left: processes, mounts, directories, links,
// iptables chains and the Pods' cgroups. It goes on past errors and
// returns them all.
func cleanup() error {
	var errs []error
	// Twice: a shim may start a container's process while the first pass
	// kills the others.
	for range 2 {
		killAll(nodePIDs())
	}
	errs = append(errs, unmountUnder(StateDir, RootDir))
	for _, d := range []string{StateDir, RootDir} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	for _, l := range []string{bridgeLink, nodeLink} {
		if linkExists(l) {
			if out, err := exec.Command("ip", "link", "del", l).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("ip link del %s: %w: %s", l, err, out))
			}
		}
	}
	errs = append(errs, removeChains(), removeCgroups())
	return errors.Join(errs...)
}

// nodePIDs lists the node's processes: every process whose command line
// names the node's state directory (containerd, its shims, kubelet,
// kube-proxy, CoreDNS) and every process in the kubelet's Pod cgroups
// (containers, whose shims outlive containerd).
func nodePIDs() []int {
	self := os.Getpid()
	seen := map[int]bool{}
	var pids []int
	add := func(pid int) {
		if pid > 1 && pid != self && !seen[pid] {
			seen[pid] = true
			pids = append(pids, pid)
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(cmdline, []byte(StateDir+"/")) {
			add(pid)
		}
	}
	for _, dir := range podCgroupDirs() {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					add(pid)
				}
			}
			return nil
		})
	}
	slices.Sort(pids)
	return pids
}

// podCgroupDirs are the kubelet's Pod cgroups (kubepods under the root of
// each hierarchy: cgroupfs driver, cgroup v1 and the unified one).
func podCgroupDirs() []string {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	if _, err := os.Stat("/sys/fs/cgroup/kubepods"); err == nil {
		dirs = append(dirs, "/sys/fs/cgroup/kubepods")
	}
	return dirs
}

// killAll kills processes and waits (a little) until they are gone.
func killAll(pids []int) {
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for time.Now().Before(deadline) {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err != nil || isZombie(b) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func isZombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && len(stat) > i+2 && stat[i+2] == 'Z'
}

// rss is a process's resident memory in bytes.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// unmountUnder unmounts every mount point under the given directories,
// deepest first (the kubelet's volumes, containerd's root file systems and
// network namespaces).
func unmountUnder(dirs ...string) error {
	var errs []error
	for range 3 {
		var points []string
		f, err := os.Open("/proc/self/mountinfo")
		if err != nil {
			return err
		}
		s := bufio.NewScanner(f)
		for s.Scan() {
			fields := strings.Fields(s.Text())
			if len(fields) < 5 {
				continue
			}
			p := unescapeMount(fields[4])
			for _, d := range dirs {
				if under(p, d) {
					points = append(points, p)
				}
			}
		}
		f.Close()
		if len(points) == 0 {
			return nil
		}
		slices.SortFunc(points, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
		errs = errs[:0]
		for _, p := range points {
			if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func linkExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// nodeAddress puts the node IP on a link of its own. A dummy link where
// the kernel has the driver, else a bridge without ports (this machine
// type's kernel has no dummy driver): either holds a local address that
// Pods reach through their gateway.
func nodeAddress() error {
	if out, err := exec.Command("ip", "link", "add", nodeLink, "type", "dummy").CombinedOutput(); err != nil {
		out2, err2 := exec.Command("ip", "link", "add", nodeLink, "type", "bridge").CombinedOutput()
		if err2 != nil {
			return fmt.Errorf("ip link add %s: as a dummy: %w: %s; as a bridge: %w: %s", nodeLink, err, out, err2, out2)
		}
	}
	for _, args := range [][]string{{"addr", "add", IP + "/32", "dev", nodeLink}, {"link", "set", nodeLink, "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// chainPrefixes name the iptables chains the node's components create:
// kube-proxy's and the kubelet's (KUBE-), the CNI plugins' (CNI-), and the
// node's own (VTMETA-).
var chainPrefixes = []string{"KUBE-", "CNI-", "VTMETA-"}

// guardChain refuses what is sent to a cluster IP that kube-proxy has not
// rewritten yet.
const guardChain = "VTMETA-UNPROGRAMMED-SERVICES"

// guardServices makes a connection to a Service's cluster IP fail at once
// (TCP reset, ICMP unreachable) until kube-proxy has programmed that
// Service. Without it such a connection follows the default route; on a
// machine whose gateway accepts any TCP connection (this machine type's
// does, answering HTTP 404), a client that dials a Service in the moment
// between its creation and kube-proxy's next sync — vtctld dialing the
// topology etcd as both start — keeps a connection to the gateway for
// good, conntrack holding it there. A real cluster drops such packets,
// and clients retry; so do they here. kube-proxy rewrites a programmed
// Service's packets before the filter table sees them (nat PREROUTING
// for Pods, nat OUTPUT for the host), so only unprogrammed ones match.
func guardServices() error {
	rules := [][]string{
		{"-N", guardChain},
		{"-A", guardChain, "-d", plane.ServiceCIDR, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"},
		{"-A", guardChain, "-d", plane.ServiceCIDR, "-j", "REJECT"},
		{"-I", "FORWARD", "1", "-d", plane.ServiceCIDR, "-j", guardChain},
		{"-I", "OUTPUT", "1", "-d", plane.ServiceCIDR, "-j", guardChain},
	}
	for _, r := range rules {
		if out, err := exec.Command("iptables", append([]string{"-w", "-t", "filter"}, r...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables %s: %w: %s", strings.Join(r, " "), err, out)
		}
	}
	return nil
}

// removeChains removes the node's iptables chains from every table, IPv4
// and IPv6: first the rules of other chains that jump to them (by number,
// last first), then their rules, then the chains.
func removeChains() error {
	var errs []error
	for _, bin := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(bin); err != nil {
			continue
		}
		for _, table := range []string{"filter", "nat", "mangle", "raw"} {
			out, err := exec.Command(bin, "-w", "-t", table, "-S").Output()
			if err != nil {
				continue // the table may not exist
			}
			var ours, order []string
			rules := map[string]int{}      // rules seen per chain
			jumps := map[string][]string{} // rule numbers to delete per chain
			for _, l := range strings.Split(string(out), "\n") {
				f := strings.Fields(l)
				switch {
				case len(f) == 2 && f[0] == "-N" && isOurs(f[1]):
					ours = append(ours, f[1])
				case len(f) > 2 && f[0] == "-A" && !isOurs(f[1]):
					rules[f[1]]++
					if jumpsToOurs(f) {
						if jumps[f[1]] == nil {
							order = append(order, f[1])
						}
						jumps[f[1]] = append(jumps[f[1]], strconv.Itoa(rules[f[1]]))
					}
				}
			}
			for _, chain := range order {
				nums := jumps[chain]
				for i := len(nums) - 1; i >= 0; i-- {
					if out, err := exec.Command(bin, "-w", "-t", table, "-D", chain, nums[i]).CombinedOutput(); err != nil {
						errs = append(errs, fmt.Errorf("%s -t %s -D %s %s: %w: %s", bin, table, chain, nums[i], err, out))
					}
				}
			}
			for _, op := range []string{"-F", "-X"} {
				for _, c := range ours {
					if out, err := exec.Command(bin, "-w", "-t", table, op, c).CombinedOutput(); err != nil {
						errs = append(errs, fmt.Errorf("%s -t %s %s %s: %w: %s", bin, table, op, c, err, out))
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}

func isOurs(chain string) bool {
	for _, p := range chainPrefixes {
		if strings.HasPrefix(chain, p) {
			return true
		}
	}
	return false
}

func jumpsToOurs(f []string) bool {
	for i, x := range f {
		if (x == "-j" || x == "-g") && i+1 < len(f) && isOurs(f[i+1]) {
			return true
		}
	}
	return false
}

// removeCgroups removes the kubelet's Pod cgroups, deepest first; their
// processes are gone by now.
func removeCgroups() error {
	var errs []error
	for _, dir := range podCgroupDirs() {
		var dirs []string
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		slices.Reverse(dirs)
		for _, d := range dirs {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("rmdir %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// sysctls are the kernel settings the CNI bridge and kube-proxy change;
// Stop puts them back. A killed run's are restored from the file it left.
var sysctls = []string{
	"net/ipv4/ip_forward",
	"net/ipv4/conf/all/route_localnet",
	"net/bridge/bridge-nf-call-iptables",
	"net/bridge/bridge-nf-call-ip6tables",
}

// savedSysctls is where the values before the node are kept, outside
// StateDir (which cleanup removes) so a killed run's survive it.
const savedSysctls = "/run/vtmeta-realnode.sysctl"

// saveSysctls records the sysctls' values before the node changes them;
// when a killed run left its record, that one holds the true values.
func saveSysctls() (map[string]string, error) {
	saved := map[string]string{}
	if b, err := os.ReadFile(savedSysctls); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				saved[k] = v
			}
		}
		return saved, nil
	}
	var b strings.Builder
	for _, k := range sysctls {
		v, err := os.ReadFile("/proc/sys/" + k)
		if err != nil {
			continue
		}
		saved[k] = strings.TrimSpace(string(v))
		fmt.Fprintf(&b, "%s=%s\n", k, saved[k])
	}
	return saved, os.WriteFile(savedSysctls, []byte(b.String()), 0o644)
}

func restoreSysctls(saved map[string]string) {
	for k, v := range saved {
		_ = os.WriteFile("/proc/sys/"+k, []byte(v), 0o644)
	}
	_ = os.Remove(savedSysctls)
}

// waitDNS waits until CoreDNS answers for the kubernetes Service.
func waitDNS(ctx context.Context) error {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, net.JoinHostPort(IP, "53"))
	}}
	deadline := time.Now().Add(time.Minute)
	for {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		addrs, err := r.LookupHost(qctx, "kubernetes.default.svc.cluster.local")
		cancel()
		if err == nil && len(addrs) > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("CoreDNS does not answer kubernetes.default.svc.cluster.local at %s: %v", IP, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// Leftovers lists what of a node is still on the host: processes, mount
// points, directories, links, iptables chains and Pod cgroups. After Stop
// it is empty.
func Leftovers() []string {
	var out []string
	for _, pid := range nodePIDs() {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		out = append(out, fmt.Sprintf("process %d (%s)", pid, strings.TrimSpace(string(comm))))
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 4 {
				if p := unescapeMount(f[4]); under(p, StateDir) || under(p, RootDir) {
					out = append(out, "mount "+p)
				}
			}
		}
	}
	for _, d := range []string{StateDir, RootDir} {
		if _, err := os.Lstat(d); err == nil {
			out = append(out, "directory "+d)
		}
	}
	for _, l := range []string{bridgeLink, nodeLink} {
		if linkExists(l) {
			out = append(out, "link "+l)
		}
	}
	for _, bin := range []string{"iptables", "ip6tables"} {
		for _, table := range []string{"filter", "nat", "mangle", "raw"} {
			b, err := exec.Command(bin, "-w", "-t", table, "-S").Output()
			if err != nil {
				continue
			}
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Fields(l); len(f) == 2 && f[0] == "-N" && isOurs(f[1]) {
					out = append(out, fmt.Sprintf("%s %s chain %s", bin, table, f[1]))
				}
			}
		}
	}
	for _, d := range podCgroupDirs() {
		out = append(out, "cgroup "+d)
	}
	return out
}

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
