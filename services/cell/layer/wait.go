package layer

import (
	"encoding/base64"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vtmeta/vtmeta/internal/kube"
	"github.com/vtmeta/vtmeta/internal/shell"
)

// How vtctld, vtorc and vtgate wait for what they need at start instead of
// crash-looping: each exits when it cannot reach the topology etcd within
// 5 seconds, and vtorc and vtgate when a cell they name is not registered
// yet, which is how a new cluster comes up (every child is created at
// once). An init container, in the component's own image (wget, grep and
// timeout are in vitess/lite and in busybox), asks the topology etcd over
// its HTTP API: its health, then each cell's record in the global
// topology. It gives up after waitTries, and the component starts anyway,
// failing as it would have.
const (
	waitTries    = 150
	waitInterval = 2
)

// waitForTopology is the init container that waits until the topology
// etcd is healthy and each of cells is registered in the global topology.
func (b builder) waitForTopology(image string, cells []string) corev1.Container {
	return corev1.Container{
		Name:            "wait-for-topology",
		Image:           image,
		Command:         b.waitCommand(cells, waitTries, waitInterval),
		SecurityContext: kube.ContainerSecurity(),
	}
}

// waitScript is the wait's shell script. Every value comes as an
// argument: $1 etcd's host:port, $2 the tries, $3 the seconds between
// them, $4 what it waits for (for its log), then the etcd keys (base64) of
// the cells' records.
const waitScript = `server=$1 tries=$2 interval=$3 what=$4
shift 4
ready() {
  timeout 5 wget -q -O - "http://$server/health" 2>/dev/null | grep -q '"health":"true"' || return 1
  for key in "$@"; do
    timeout 5 wget -q -O - --post-data "{\"key\":\"$key\"}" "http://$server/v3/kv/range" 2>/dev/null | grep -q '"count"' || return 1
  done
}
i=0
until ready "$@"; do
  i=$((i+1))
  if [ "$i" -ge "$tries" ]; then echo "still waiting for $what after $tries tries: starting anyway"; exit 0; fi
  sleep "$interval"
done
echo "$what: ready"`

// waitCommand is the wait's command: tries checks, interval seconds apart.
func (b builder) waitCommand(cells []string, tries, interval int) []string {
	topo := b.cfg.GetTopology()
	server, _, _ := strings.Cut(topo.GetGlobalServerAddress(), ",")
	what := "the topology"
	if len(cells) > 0 {
		what += " and cell " + strings.Join(cells, ", ")
	}
	args := []string{server, strconv.Itoa(tries), strconv.Itoa(interval), what}
	for _, c := range cells {
		// The cell's record, as etcd2topo keeps it: <global root>/cells/<cell>/CellInfo.
		args = append(args, base64.StdEncoding.EncodeToString([]byte(path.Join(topo.GetGlobalRoot(), "cells", c, "CellInfo"))))
	}
	return shell.Command("wait-for-topology", waitScript, args...)
}
