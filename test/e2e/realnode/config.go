//go:build linux

package realnode

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/vtmeta/vtmeta/test/e2e/realnode/images"
)

// configs are the node's generated configuration files, by name under the
// state directory.
type configs struct {
	Name, IP, Bridge, PodCIDR, Gateway string
	State, Root, Kubeconfig            string
	Sandbox, ResolvConf                string
	LabelKey, LabelValue, TaintKey     string
}

func newConfigs(kubeconfig string) configs {
	return configs{
		Name: Name, IP: IP, Bridge: bridgeLink, PodCIDR: PodCIDR, Gateway: gateway,
		State: StateDir, Root: RootDir, Kubeconfig: kubeconfig,
		Sandbox: images.Pause, ResolvConf: filepath.Join(StateDir, "resolv.conf"),
		LabelKey: LabelKey, LabelValue: LabelValue, TaintKey: TaintKey,
	}
}

// The facts below were established on this machine type (2 cores, cgroup
// v1 hybrid, root without CAP_SYS_RESOURCE): see docs/development.md, real-node
// section.
var files = map[string]string{
	// containerd: CRI with runc on cgroupfs, overlayfs, a local sandbox
	// image. restrict_oom_score_adj: without CAP_SYS_RESOURCE, the
	// sandbox's negative oom_score_adj makes runc's init die ("can't get
	// final child's PID from pipe: EOF"). Every path is the node's own, so
	// the host's containerd (if any) is untouched and cleanup knows what
	// to remove.
	"containerd.toml": `version = 2
root = "{{.Root}}/containerd"
state = "{{.State}}/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{{.State}}/containerd.sock"
[ttrpc]
  address = "{{.State}}/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "{{.Root}}/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "{{.Sandbox}}"
    enable_selinux = false
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
          Root = "{{.State}}/runc"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "{{.State}}/cni"
`,
	// CNI: one bridge, host-local addresses, masquerade out, hostPort.
	"cni/10-vtmeta.conflist": `{
  "cniVersion": "0.4.0",
  "name": "vtmeta-realnode",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "{{.Bridge}}",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "{{.PodCIDR}}", "gateway": "{{.Gateway}}"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "{{.State}}/cni-ipam"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`,
	// kubelet: cgroup v1 tolerated, cgroupfs, no swap check, eviction
	// thresholds a shared test machine does not trip, CoreDNS on the node
	// IP as the cluster DNS, and the node's label and taint so that only
	// Pods asking for it land here.
	"kubelet.yaml": `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://{{.State}}/containerd.sock
failSwapOn: false
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
  x509: {}
authorization:
  mode: AlwaysAllow
address: {{.IP}}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
clusterDomain: cluster.local
clusterDNS: ["{{.IP}}"]
resolvConf: {{.ResolvConf}}
podLogsDir: {{.Root}}/pod-logs
cgroupsPerQOS: true
enforceNodeAllocatable: ["pods"]
localStorageCapacityIsolation: true
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
  nodefs.inodesFree: "1%"
serializeImagePulls: false
maxPods: 50
registerWithTaints:
- {key: "{{.TaintKey}}", value: "{{.LabelValue}}", effect: NoSchedule}
`,
	// kube-proxy in iptables mode; it leaves the conntrack sysctls and its
	// own oom_score_adj alone (no CAP_SYS_RESOURCE).
	"kube-proxy.yaml": `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: {{.Kubeconfig}}
hostnameOverride: {{.Name}}
bindAddress: 0.0.0.0
clusterCIDR: {{.PodCIDR}}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack:
  maxPerCore: 0
oomScoreAdj: null
`,
	// CoreDNS answers cluster.local from the apiserver, on the node IP.
	// Nothing is forwarded: Pods here resolve cluster names only, and no
	// query leaves the machine.
	"Corefile": `.:53 {
    bind {{.IP}}
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig {{.Kubeconfig}}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`,
	// The Pods' resolv.conf base: CoreDNS and nothing else (the host's
	// search domains would send Pods' lookups off the machine).
	"resolv.conf": "nameserver {{.IP}}\n",
}

// write writes every configuration file under the state directory.
func (c configs) write() error {
	for name, text := range files {
		tmpl, err := template.New(name).Option("missingkey=error").Parse(text)
		if err != nil {
			return fmt.Errorf("config %s: %w", name, err)
		}
		var b strings.Builder
		if err := tmpl.Execute(&b, c); err != nil {
			return fmt.Errorf("config %s: %w", name, err)
		}
		p := filepath.Join(StateDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
