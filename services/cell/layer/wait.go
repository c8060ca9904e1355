package layer

import (
	"encoding/base64"
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vtmeta/vtmeta/internal/kube"
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
		Command:         []string{"sh", "-c", b.waitScript(cells, waitTries, waitInterval)},
		SecurityContext: kube.ContainerSecurity(),
	}
}

// waitScript is the wait's shell script: tries checks, interval seconds
// apart.
func (b builder) waitScript(cells []string, tries, interval int) string {
	topo := b.cfg.GetTopology()
	server, _, _ := strings.Cut(topo.GetGlobalServerAddress(), ",")
	checks := []string{fmt.Sprintf(`timeout 5 wget -q -O - 'http://%s/health' 2>/dev/null | grep -q '"health":"true"'`, server)}
	for _, c := range cells {
		// The cell's record, as etcd2topo keeps it: <global root>/cells/<cell>/CellInfo.
		key := base64.StdEncoding.EncodeToString([]byte(path.Join(topo.GetGlobalRoot(), "cells", c, "CellInfo")))
		checks = append(checks, fmt.Sprintf(`timeout 5 wget -q -O - --post-data '{"key":"%s"}' 'http://%s/v3/kv/range' 2>/dev/null | grep -q '"count"'`, key, server))
	}
	what := "the topology"
	if len(cells) > 0 {
		what += " and cell " + strings.Join(cells, ", ")
	}
	return fmt.Sprintf(`i=0
until %s; do
  i=$((i+1))
  if [ $i -ge %d ]; then echo "still waiting for %s after %d tries: starting anyway"; exit 0; fi
  sleep %d
done
echo "%s: ready"`, strings.Join(checks, " && "), tries, what, tries, interval, what)
}
