// Command demo-vitess runs real Vitess from what vtmeta renders: it starts
// the control plane with one real node (kubelet, containerd, Vitess 24 and
// MariaDB images built here; it needs root on Debian), applies the Vitess
// scenario's VitessCluster (two cells, two shards, a vtgate per cell,
// credentials), promotes each shard's tablet (vtorc cannot on MariaDB),
// and prints how to connect to each vtgate with a MySQL client. Ctrl-C
// tears it all down.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/vtmeta/vtmeta/test/e2e/plane"
	"github.com/vtmeta/vtmeta/test/e2e/realnode"
	"github.com/vtmeta/vtmeta/test/e2e/realnode/images"
	"github.com/vtmeta/vtmeta/test/e2e/vitess"
)

func main() {
	exit := flag.Bool("exit", false, "tear down as soon as the cluster serves instead of waiting for Ctrl-C")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *exit); err != nil {
		fmt.Fprintln(os.Stderr, "demo-vitess:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, exit bool) error {
	dir, err := os.MkdirTemp("", "vtmeta-demo-vitess-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Printf("[%5.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	say("preparing the real node (the first run builds kubelet, kube-proxy, CoreDNS and Vitess: minutes)")
	node, err := realnode.Prepare(ctx, realnode.Options{Dir: dir, Log: say})
	if err != nil {
		return err
	}
	defer node.Stop()
	imgs, err := images.All()
	if err != nil {
		return err
	}
	e, err := plane.Up(ctx, plane.Options{Dir: dir, Log: say, Network: realnode.Network(), Metacontroller: os.Getenv("METACONTROLLER_BIN")})
	if err != nil {
		return err
	}
	defer func() {
		say("tearing down")
		e.Stop()
	}()
	if err := node.Join(ctx, e.Kubeconfig, e.Config, imgs...); err != nil {
		return err
	}
	c, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		return err
	}
	if err := realnode.OnlyNode(ctx, c); err != nil {
		return err
	}
	if err := realnode.Volumes(ctx, c, 8, "2Gi"); err != nil {
		return err
	}
	if err := vitess.Prerequisites(ctx, c); err != nil {
		return err
	}
	etcd := ""
	for _, img := range imgs {
		if strings.Contains(img.Ref, "/etcd:") {
			etcd = img.Ref
		}
	}
	manifest := vitess.Manifest(etcd)
	vc, err := plane.Decode(manifest)
	if err != nil {
		return err
	}
	fmt.Printf("\n== kubectl apply -f - <<EOF\n%sEOF\n", manifest)
	if err := e.CreateAll(ctx, []*unstructured.Unstructured{vc}); err != nil {
		return err
	}
	tablets := vitess.Tablets()
	last := ""
	for {
		w := vitess.WaitingFor(ctx, c, tablets)
		if w == "" {
			break
		}
		if w != last {
			say("waiting for %s", w)
			last = w
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	v, err := vitess.NewVtctld(ctx, c)
	if err != nil {
		return err
	}
	say("promoting each shard's tablet (vtorc's job, which it cannot do on MariaDB)")
	if err := vitess.Promote(ctx, v, tablets, say); err != nil {
		return err
	}
	fmt.Printf("\n== the cluster serves; connect with a MySQL client (from this machine)\n")
	for _, cell := range []string{"zone1", "zone2"} {
		addr, err := vitess.Gateway(ctx, c, cell)
		if err != nil {
			return err
		}
		host, port, _ := strings.Cut(addr, ":")
		fmt.Printf("  mysql -h %s -P %s -u %s -p'%s' %s   # %s's vtgate\n", host, port, vitess.AppUser,
			strings.ReplaceAll(vitess.AppPassword, "'", `'\''`), vitess.Keyspace, cell)
	}
	fmt.Printf("  export KUBECONFIG=%s PATH=%s:$PATH\n  kubectl get vitess   # and, after make build with ./bin on PATH: kubectl vtmeta tree %s\n", e.Kubeconfig, plane.BinDir(), vitess.Cluster)
	fmt.Printf("  vtctldclient --server=%s GetTablets   # %s\n", v.Server, v.Bin)
	if exit {
		return nil
	}
	fmt.Printf("\nPress Ctrl-C to tear everything down.\n")
	<-ctx.Done()
	return nil
}
