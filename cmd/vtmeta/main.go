// Command vtmeta shows what the vtmeta operator will do before it does it,
// and what it is doing while it does: render, validate and plan run the
// five layers' real sync code offline; tree reads a live cluster. Installed
// as kubectl-vtmeta on the PATH, it is the kubectl plugin "kubectl vtmeta".
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"

	"github.com/vtmeta/vtmeta/internal/tree"
)

// clustersGVR is the VitessCluster resource.
var clustersGVR = schema.GroupVersionResource{Group: "vitess.io", Version: "v1alpha1", Resource: "vitessclusters"}

// Version is stamped at build time with -ldflags -X.
var Version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, newApp(filepath.Base(os.Args[0]), os.Stdin, os.Stdout, os.Stderr), os.Args[1:])
	stop()
	os.Exit(code)
}

// errInvalid is returned when what was checked is refused; the command has
// already said why.
var errInvalid = errors.New("invalid")

// usageError is a command line that cannot run.
type usageError struct{ error }

// app is what every command shares.
type app struct {
	// self is how the user calls us: "vtmeta" or "kubectl vtmeta".
	self   string
	kube   *genericclioptions.ConfigFlags
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// isTerminal says whether stdout is a terminal (colours, redraws).
	isTerminal bool
	// dynamic, when set, is the cluster client (tests); else the
	// kubeconfig's.
	dynamic dynamic.Interface
	// vars, when set, fetches a tablet's /debug/vars (tests); else the
	// API server's Pod proxy does.
	vars tree.VarsGetter
	// now is the clock.
	now func() time.Time
}

// newApp returns the app as called by argv0 ("kubectl-vtmeta" makes it
// the kubectl plugin).
func newApp(argv0 string, stdin io.Reader, stdout, stderr io.Writer) *app {
	a := &app{self: "vtmeta", kube: genericclioptions.NewConfigFlags(true), stdin: stdin, stdout: stdout, stderr: stderr,
		isTerminal: isTerminal(stdout), now: time.Now}
	if strings.HasPrefix(argv0, "kubectl-") {
		a.self = "kubectl " + strings.TrimPrefix(argv0, "kubectl-")
	}
	return a
}

// run runs the command line and returns the exit status: 0 done, 1 invalid
// or failed, 2 a command line that cannot run.
func run(ctx context.Context, a *app, args []string) int {
	root := a.root()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	stderr := a.stderr
	cmd, err := root.ExecuteContextC(ctx)
	var usage usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errInvalid):
		return 1
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", a.self, err, cmd.CommandPath())
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", a.self, err)
		return 1
	}
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "vtmeta",
		Short: "See what the vtmeta Vitess operator will do before it does it, and why something is stuck while it does",
		Long: `vtmeta is the command-line companion of the vtmeta Vitess operator.

render, validate and plan run the five layers' real sync code (cluster,
cell, keyspace, shard, tablet) offline, chained as Metacontroller chains
them, and judge manifests by deploy/crds and deploy/policy as the apiserver
would. tree reads a live cluster through your kubeconfig.

Installed as kubectl-vtmeta on your PATH, it runs as "kubectl vtmeta".`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: a.self},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	a.kube.AddFlags(root.PersistentFlags())
	root.AddCommand(a.renderCmd(), a.validateCmd(), a.planCmd(), a.treeCmd(), a.syncCmd(), a.versionCmd())
	return root
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), Version)
			return err
		},
	}
}

// example formats a command's examples with how the user calls us.
func (a *app) example(lines ...string) string {
	for i, l := range lines {
		lines[i] = "  " + strings.ReplaceAll(l, "vtmeta ", a.self+" ")
	}
	return strings.Join(lines, "\n")
}

// namespace is the namespace of --namespace or the kubeconfig's context,
// "default" when there is none.
func (a *app) namespace() string {
	if a.kube.Namespace != nil && *a.kube.Namespace != "" {
		return *a.kube.Namespace
	}
	ns, _, err := a.kube.ToRawKubeConfigLoader().Namespace()
	if err != nil || ns == "" {
		return "default"
	}
	return ns
}

// exactArgs is cobra.ExactArgs as a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
