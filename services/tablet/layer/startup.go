package layer

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// How a tablet Pod starts. vttablet exits when it cannot reach mysqld at
// once, or when mysqld's users are not ready within 10 seconds: a new data
// directory takes mysqlctld longer than that to initialize, a loaded node
// longer to start mysqld. So vttablet waits for mysqlctld's socket, which
// mysqlctld serves only once mysqld is initialized and up; after
// startWaitSeconds it starts anyway, failing as it would have.
//
// The socket is on the tablet's volume, so the previous Pod's (a rollout,
// a drain) is still there when a new Pod starts: vttablet would start at
// once and crash until mysqld is up (three restarts a tablet, a minute of
// back-off, measured on the real node). The mysqld container comes first
// and its postStart hook removes that socket; the kubelet starts the next
// container, vttablet, only once the hook has run, and mysqlctld makes its
// new socket seconds later, once mysqld is up.
const startWaitSeconds = 600

// mysqldLifecycle is the mysqld container's hooks: the stale socket
// removed at start, and the preStop wait for vttablet's reparent.
func mysqldLifecycle(tm timings) *corev1.Lifecycle {
	l := preStop(waitScript(tm))
	l.PostStart = &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"rm", "-f", MysqlctlSocket}}}
	return l
}

// startCommand is the vttablet container's command: the wait, then the
// binary, which the shell runs as "$0" with the container's args.
func startCommand(binary string) []string {
	return []string{"sh", "-c", startScript(MysqlctlSocket, startWaitSeconds), binary}
}

// startScript waits, a second at a time, at most tries seconds, for the
// socket, then runs "$0" "$@".
func startScript(socket string, tries int) string {
	return fmt.Sprintf(`i=0
until [ -S %[1]s ] || [ $i -ge %[2]d ]; do i=$((i+1)); sleep 1; done
[ -S %[1]s ] || echo "mysqlctld serves no socket at %[1]s after %[2]d s: starting anyway" >&2
exec "$0" "$@"`, socket, tries)
}

// vttabletStartup holds the liveness probe off until vttablet listens:
// while it waits for mysqld, or restores a backup, nothing answers on its
// port, and the liveness probe would restart it (it did, three minutes
// into a new cluster whose twelve mysqlds initialized at once). It allows
// the start wait and a minute more.
func vttabletStartup() *corev1.Probe {
	const period = 10
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("web")}},
		PeriodSeconds:    period,
		FailureThreshold: (startWaitSeconds + 60) / period,
	}
}
