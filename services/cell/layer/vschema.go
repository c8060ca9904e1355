package layer

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vtmeta/vtmeta/internal/conditions"
	"github.com/vtmeta/vtmeta/internal/kube"
	"github.com/vtmeta/vtmeta/internal/names"
	"github.com/vtmeta/vtmeta/internal/observed"
	"github.com/vtmeta/vtmeta/internal/shell"
	"github.com/vtmeta/vtmeta/internal/spec"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// A keyspace's VSchema is applied by the cell that sets keyspaces up: a Pod
// that runs vtctldclient ApplyVSchema once the keyspace exists, reading the
// VSchema from a ConfigMap, both named after the VSchema's hash, so that a
// changed VSchema is a new Pod. The Pod is the cell's own child (not a
// Job's), so the cell reads how it ended: its termination message says
// "applied", or "refused: " and Vitess's message. It tries the VSchema
// (--dry-run) first, so that a refusal is told from a failure to reach
// vtctld, which the kubelet retries (restartPolicy OnFailure).

// VSchemaApplied is the condition of the cell that applies VSchemas.
const VSchemaApplied = "VSchemaApplied"

// vschemaMount is where the VSchema's ConfigMap is mounted.
const vschemaMount = "/vt/vschema"

// vschemaScript applies a VSchema: $1 vtctld's address, $2 the keyspace,
// $3 the VSchema's file.
const vschemaScript = `server=$1 keyspace=$2 file=$3
i=0
until vtctldclient "--server=$server" GetKeyspace "$keyspace" >/dev/null 2>&1; do
  i=$((i+1)); [ $i -ge 120 ] && { echo "keyspace $keyspace is not in the topology after 10 minutes" >&2; exit 1; }
  sleep 5
done
if ! out=$(vtctldclient "--server=$server" ApplyVSchema --dry-run --strict "--vschema-file=$file" "$keyspace" 2>&1); then
  case "$out" in
  *"code = Unavailable"*|*"code = DeadlineExceeded"*|*"connection refused"*) echo "$out" >&2; exit 1 ;;
  esac
  printf 'refused: %s' "$out" | head -c 3500 > /dev/termination-log
  exit 0
fi
vtctldclient "--server=$server" ApplyVSchema --strict "--vschema-file=$file" "$keyspace" >/dev/null || exit 1
printf applied > /dev/termination-log`

// vschema is one keyspace's VSchema the cell applies.
type vschema struct {
	keyspace, hash, name string
}

// vschemaHash is the hash a VSchema's Pod and ConfigMap are named by.
func vschemaHash(js string) string {
	sum := sha256.Sum256([]byte(js))
	return hex.EncodeToString(sum[:])[:8]
}

// VSchemas builds the ConfigMap and the Pod that apply a keyspace's
// VSchema, and says which it is.
func (b builder) VSchema(k *v1.KeyspaceSetup) (vschema, []kube.Object) {
	h := vschemaHash(k.GetVschema())
	v := vschema{keyspace: k.GetName(), hash: h, name: names.JoinMax(names.MaxLength, b.cluster(), b.s.GetName(), "vschema", k.GetName(), h)}
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: b.meta(v.name, "vschema"),
		Data:       map[string]string{"vschema.json": k.GetVschema()},
	}
	podSec, _ := kube.SecurityContext("", nil)
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: b.meta(v.name, "vschema"),
		Spec: corev1.PodSpec{
			RestartPolicy:   corev1.RestartPolicyOnFailure,
			SecurityContext: podSec,
			Containers: []corev1.Container{{
				Name:                     "vschema",
				Image:                    cmp.Or(b.cfg.GetImages().GetVtctld(), spec.DefaultVitessImage),
				Command:                  shell.Command("vschema", vschemaScript, b.cfg.GetVtctldAddress(), k.GetName(), vschemaMount+"/vschema.json"),
				VolumeMounts:             []corev1.VolumeMount{{Name: "vschema", MountPath: vschemaMount, ReadOnly: true}},
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				SecurityContext:          kube.ContainerSecurity(),
			}},
			Volumes: []corev1.Volume{{Name: "vschema", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: v.name}}}}},
		},
	}
	return v, []kube.Object{cm, pod}
}

// vschemaState is how a VSchema's Pod ended: applied, refused (with
// Vitess's message) or neither yet.
func vschemaState(obs observed.Children, v vschema) (applied bool, refused string) {
	o := obs.Get("Pod", "v1", v.name)
	if o.GetStatus().GetPhase() != "Succeeded" {
		return false, ""
	}
	for _, c := range o.GetStatus().GetContainerStatuses() {
		msg := c.GetState().GetTerminated().GetMessage()
		switch {
		case c.GetName() != "vschema":
		case msg == "applied":
			return true, ""
		case strings.HasPrefix(msg, "refused: "):
			return false, strings.TrimSpace(strings.TrimPrefix(msg, "refused: "))
		}
	}
	return false, ""
}

// vschemaStatus is the cell's VSchemaApplied condition and the hashes of
// the VSchemas applied, by keyspace: those its Pods say are, and, of the
// others, what the cell's status said (a VSchema being replaced was
// applied before); nil without VSchemas.
func vschemaStatus(obs observed.Children, vs []vschema, prev map[string]string) (*v1.Condition, map[string]string) {
	if len(vs) == 0 {
		return nil, nil
	}
	applied := map[string]string{}
	var refused, applying []string
	for _, v := range vs {
		ok, why := vschemaState(obs, v)
		switch {
		case ok:
			applied[v.keyspace] = v.hash
			continue
		case why != "":
			refused = append(refused, fmt.Sprintf("keyspace %s: Vitess refused its VSchema: %s", v.keyspace, why))
		default:
			applying = append(applying, v.keyspace)
		}
		if h, ok := prev[v.keyspace]; ok {
			applied[v.keyspace] = h
		}
	}
	switch {
	case len(refused) > 0:
		return conditions.New(VSchemaApplied, false, "Refused", strings.Join(refused, "; ")+" (fix spec.keyspaces[].vschema)"), applied
	case len(applying) > 0:
		return conditions.New(VSchemaApplied, false, "Applying", "applying the VSchema of keyspace "+strings.Join(applying, ", ")), applied
	}
	return conditions.New(VSchemaApplied, true, "Applied", "every keyspace's VSchema is applied"), applied
}

// holdReady makes Ready False while the VSchemas are not applied: a
// keyspace is not ready to serve queries until Vitess routes them as the
// spec says.
func holdReady(conds []*v1.Condition, vschema *v1.Condition) []*v1.Condition {
	if vschema == nil || vschema.GetStatus() == conditions.True {
		return conds
	}
	for i, c := range conds {
		if c.GetType() == conditions.Ready && c.GetStatus() == conditions.True {
			conds[i] = conditions.New(conditions.Ready, false, "VSchemaNotApplied", vschema.GetMessage())
		}
	}
	return conds
}
