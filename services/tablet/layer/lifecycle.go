package layer

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/vtmeta/vtmeta/internal/names"
	"github.com/vtmeta/vtmeta/internal/shell"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// How a tablet Pod stops. Whatever stops it — the shard's own rollout, an
// eviction, a node drain, a deletion — the primary moves first: the
// vttablet container's preStop hook runs a planned reparent that avoids
// this tablet (a no-op when it is not the primary), and mysqld stays up
// until that is done, then shuts down cleanly within the grace period.
const (
	// DefaultGracePeriod is the tablet Pods' terminationGracePeriodSeconds
	// when the pool sets none: mysqlctld alone may wait 5 minutes for mysqld
	// by default, and a large buffer pool takes long to flush.
	DefaultGracePeriod = 1800
	// reparentSeconds bounds the planned reparent of the preStop hook.
	reparentSeconds = 60
	// LifecycleDir is an emptyDir both containers mount: the vttablet
	// hook leaves a file there when it is done, which the mysqld hook
	// waits for (Kubernetes stops the containers of a Pod in parallel).
	LifecycleDir = "/vt/lifecycle"
	// reparentDone is the file the vttablet hook leaves.
	reparentDone = LifecycleDir + "/reparent-done"
)

// timings are the stop budget of a tablet Pod, in seconds.
type timings struct {
	grace, reparent, mysqlWait int64
}

// stopTimings splits a Pod's grace period: the reparent first (at most a
// minute, at most a quarter), then mysqld's shutdown, with room to spare
// for mysqlctld's own exit.
func stopTimings(pool *v1.TabletPoolSpec) timings {
	grace := int64(DefaultGracePeriod)
	if pool.TerminationGracePeriodSeconds != nil {
		grace = pool.GetTerminationGracePeriodSeconds()
	}
	reparent := min(int64(reparentSeconds), grace/4)
	return timings{grace: grace, reparent: reparent, mysqlWait: grace - reparent - 30}
}

// reparentAttempts bounds how often the preStop tries: a reparent that
// fails fast (vtctld restarting, the shard lock held by vtorc for a
// moment) is tried again while at least half the reparent budget is left.
const reparentAttempts = 3

// reparentScript is the vttablet container's preStop: when the tablet is
// its shard's primary, move the primary away with a planned reparent that
// avoids it, bounded by the reparent budget. A failed attempt is tried
// again (asking afresh whether the tablet is still the primary), up to
// reparentAttempts times while half the budget is left. What it did goes
// to the container's log (and, when the reparent fails, to the Pod's
// events, as the hook then exits non-zero). It leaves reparentDone in
// every case. The tablet's alias, keyspace/shard and vtctld address are
// its arguments ($1, $2, $3), never part of its text.
func reparentScript(t *v1.VitessTablet, tm timings) []string {
	s := t.GetSpec()
	alias := names.Alias(s.GetCell(), uint32(s.GetUid()))
	target := s.GetKeyspace() + "/" + s.GetShard()
	script := fmt.Sprintf(`log() { echo "preStop $1: $2" >>/proc/1/fd/1 2>/dev/null; echo "preStop $1: $2"; }
alias=$1 target=$2 server=$3
start=$(date +%%s) left=%[1]d attempt=1
client() { vtctldclient "--server=$server" "--action-timeout=${left}s" "$@"; }
while :; do
  if ! out=$(client GetTablet "$alias" 2>&1); then
    why="cannot tell whether it is the primary of $target"
  elif echo "$out" | grep -Eq '"type": *"PRIMARY"'; then
    log "$alias" "primary of $target: PlannedReparentShard --avoid-primary=$alias"
    if out=$(client PlannedReparentShard "$target" "--avoid-primary=$alias" --wait-replicas-timeout=%[2]ds 2>&1); then
      log "$alias" "the primary of $target moved away"; rc=0; break
    fi
    why="planned reparent failed"
  else
    log "$alias" "not the primary of $target: nothing to move"; rc=0; break
  fi
  left=$((%[1]d - $(date +%%s) + start))
  if [ "$attempt" -ge %[4]d ] || [ "$left" -lt %[5]d ]; then
    log "$alias" "$why, stopping anyway: $out"; rc=1; break
  fi
  log "$alias" "attempt $attempt: $why, trying again: $out"
  attempt=$((attempt+1)); sleep 2; left=$((left-2))
done
touch %[3]s
exit $rc`, tm.reparent, max(tm.reparent/2, 1), reparentDone, reparentAttempts, tm.reparent/2+2)
	return shell.Command("prestop", script, alias, target, s.GetClusterConfig().GetVtctldAddress())
}

// waitScript is the mysqld container's preStop: keep mysqld up until the
// vttablet hook is done (a planned reparent needs the primary's mysqld),
// at most the reparent budget and a little more.
func waitScript(tm timings) []string {
	return shell.Command("wait-for-reparent", fmt.Sprintf("i=0; while [ ! -e %s ] && [ $i -lt %d ]; do sleep 1; i=$((i+1)); done", reparentDone, tm.reparent+15))
}

// preStop is an exec preStop hook running a command.
func preStop(command []string) *corev1.Lifecycle {
	return &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: command}}}
}
