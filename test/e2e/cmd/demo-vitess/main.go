// Command demo-vitess runs real Vitess from what vtmeta renders: it starts
// the control plane with one real node (kubelet, containerd, Vitess 24 and
// MySQL 9.7 images built here; it needs root on Debian), applies the
// Vitess scenario's VitessCluster (two cells, two shards with two
// primary-eligible tablets and an rdonly per cell, a vtgate and a vtorc
// per cell, credentials), waits for vtorc to elect each shard's primary,
// and prints how to connect to each vtgate with the MySQL client of the
// mysqld image (run from the image unpacked, through chroot), after
// checking that command through it. Ctrl-C tears it all down.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
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
	// The plane first, with its progress: the etcd image is built from it.
	if err := plane.Build(say); err != nil {
		return err
	}
	imgs, err := images.All(say)
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
	if err := realnode.Volumes(ctx, c, vitess.Volumes(), "2Gi"); err != nil {
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
	say("waiting for vtorc to elect each shard's primary")
	primaries, err := v.Primaries(ctx, 10*time.Minute)
	if err != nil {
		return err
	}
	say("vtorc elected %v", primaries)
	root, err := images.MySQLRoot()
	if err != nil {
		return err
	}
	var commands []string
	for _, cell := range vitess.Cells {
		addr, err := vitess.Gateway(ctx, c, cell)
		if err != nil {
			return err
		}
		host, port, _ := strings.Cut(addr, ":")
		args := []string{root, "mysql", "-h", host, "-P", port, "-u", vitess.AppUser, "-p" + vitess.AppPassword, vitess.Keyspace}
		// The printed command works: the client answers through it.
		if err := check(ctx, append(args, "-e", "SELECT @@version")); err != nil {
			return fmt.Errorf("%s's vtgate through the image's mysql client: %w", cell, err)
		}
		commands = append(commands, fmt.Sprintf("  chroot %s   # %s's vtgate", shellQuote(args), cell))
	}
	fmt.Printf("\n== the cluster serves; connect with the MySQL client of the mysqld image (MySQL %s, from this machine, as root)\n%s\n",
		images.MySQLVersion, strings.Join(commands, "\n"))
	fmt.Printf("  export KUBECONFIG=%s PATH=%s:$PATH\n  kubectl get vitess   # and, after make build with ./bin on PATH: kubectl vtmeta tree %s\n", e.Kubeconfig, plane.BinDir(), vitess.Cluster)
	fmt.Printf("  vtctldclient --server=%s GetTablets   # %s\n", v.Server, v.Bin)
	if exit {
		return nil
	}
	fmt.Printf("\nPress Ctrl-C to tear everything down.\n")
	<-ctx.Done()
	return nil
}

// check runs chroot with args, waiting for vtgate to route (the keyspace's
// serving graph may trail the election by a few seconds).
func check(ctx context.Context, args []string) error {
	var out []byte
	var err error
	for range 30 {
		out, err = exec.CommandContext(ctx, "chroot", args...).CombinedOutput()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	return fmt.Errorf("%w: %s", err, out)
}

// shellQuote writes args for a POSIX shell.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
