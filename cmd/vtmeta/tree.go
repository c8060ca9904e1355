package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/vtmeta/vtmeta/internal/spec"
	"github.com/vtmeta/vtmeta/internal/tree"
)

func (a *app) treeCmd() *cobra.Command {
	var watch, all, roles bool
	var interval time.Duration
	var color string
	cmd := &cobra.Command{
		Use:   "tree [NAME]",
		Short: "Show a live VitessCluster and everything under it, and what is not ready, why and since when",
		Long: `tree reads the VitessCluster NAME (every one in the namespace without NAME)
and everything it controls from the cluster of your kubeconfig: cells,
keyspaces, shards, tablets, their Pods and claims, and the etcd, vtctld,
vtorc and vtgate workloads with their Pods. Each line says whether the
object is ready (READY), on the current spec (UPDATED), its age, and for
anything not ready the condition that says why and since when, or where a
rollout stands. Last come the objects that hold the rest up: those not
ready whose own children are all ready.

ROLE is each running tablet's current type (primary, replica, rdonly) and
whether it serves, as its own vttablet says on its /debug/vars, read
through the API server's Pod proxy: it needs get on pods/proxy in the
namespace, and no Vitess credentials. A tablet it cannot ask shows ?, and
the reason follows the table. --roles=false skips it.

Colours mark ready, not ready and rolling on a terminal; piped output is
plain (--color always|never overrides; NO_COLOR is honoured). --watch
redraws whenever something changes until Ctrl-C.`,
		Example: a.example(
			"vtmeta tree vitess",
			"vtmeta tree vitess --watch",
			"vtmeta tree --context prod -n vitess --all"),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("tree takes at most one NAME, got %d", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch color {
			case "auto", "always", "never":
			default:
				return usageError{fmt.Errorf("--color %q: use auto, always or never", color)}
			}
			c, err := a.dynamicClient()
			if err != nil {
				return err
			}
			opts := tree.Options{Namespace: a.namespace(), All: all}
			if len(args) == 1 {
				opts.Name = args[0]
			}
			colored := color == "always" || (color == "auto" && a.isTerminal && os.Getenv("NO_COLOR") == "")
			var vars tree.VarsGetter
			if roles {
				if vars, err = a.varsGetter(); err != nil {
					return err
				}
			}
			draw := func() (string, error) {
				roots, err := tree.Build(cmd.Context(), c, opts)
				if err != nil {
					return "", err
				}
				if len(roots) == 0 {
					return fmt.Sprintf("No VitessCluster in namespace %s.\n", opts.Namespace), nil
				}
				popts := tree.PrintOptions{Now: a.now(), Color: colored}
				if vars != nil {
					popts.Roles = tree.Roles(cmd.Context(), roots, vars)
				}
				var b bytes.Buffer
				err = tree.Print(&b, roots, popts)
				return b.String(), err
			}
			out := cmd.OutOrStdout()
			if !watch {
				s, err := draw()
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(out, s)
				return err
			}
			last := ""
			for {
				s, err := draw()
				if err != nil {
					s = fmt.Sprintf("cannot read the tree: %v\n", err) // the apiserver may be back at the next turn
				}
				if s != last {
					stamp := a.now().UTC().Format(time.RFC3339)
					if a.isTerminal {
						fmt.Fprintf(out, "\x1b[H\x1b[2J%s tree %s, every %s, at %s (Ctrl-C stops)\n\n%s", a.self, strings.Join(args, " "), interval, stamp, s)
					} else {
						fmt.Fprintf(out, "--- %s\n%s", stamp, s)
					}
					last = s
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(interval):
				}
			}
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "redraw whenever the tree changes, until Ctrl-C")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "how often --watch reads the tree")
	cmd.Flags().BoolVar(&all, "all", false, "also show Services, ConfigMaps and PodDisruptionBudgets")
	cmd.Flags().StringVar(&color, "color", "auto", "auto (on a terminal), always or never")
	cmd.Flags().BoolVar(&roles, "roles", true, "ask each running tablet's vttablet for its role, through the API server's Pod proxy")
	return cmd
}

// varsTimeout bounds one tablet's /debug/vars read.
const varsTimeout = 3 * time.Second

// varsGetter reads a vttablet's /debug/vars through the API server's Pod
// proxy (nil in tests that give a cluster but no way to reach Pods).
func (a *app) varsGetter() (tree.VarsGetter, error) {
	if a.vars != nil || a.dynamic != nil {
		return a.vars, nil
	}
	cfg, err := a.kube.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", cfg.Host, err)
	}
	return func(ctx context.Context, namespace, pod string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, varsTimeout)
		defer cancel()
		b, err := cs.CoreV1().Pods(namespace).ProxyGet("http", pod, strconv.Itoa(spec.WebPort), "/debug/vars", nil).DoRaw(ctx)
		if err != nil {
			return nil, fmt.Errorf("GET /debug/vars through the Pod proxy: %w", err)
		}
		return b, nil
	}, nil
}
