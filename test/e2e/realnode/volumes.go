//go:build linux

package realnode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// StorageClass is the storage class name of the node's volumes: a claim
// that names it binds only to them, never to the plane's kwok volumes
// (whose host paths the real node cannot use).
const StorageClass = "vtmeta-realnode"

// volumeOwner owns the volumes' directories: Vitess runs as uid 999, and
// the kubelet does not apply fsGroup to host paths.
const volumeOwner = 999

// Volumes creates count PersistentVolumes of the given size on the node:
// host directories under RootDir (removed with the node), owned by uid
// 999, pinned to the node, in StorageClass, kept when released (a tablet
// that comes back finds its data).
func Volumes(ctx context.Context, c kubernetes.Interface, count int, size string) error {
	q, err := resource.ParseQuantity(size)
	if err != nil {
		return fmt.Errorf("volume size %q: %w", size, err)
	}
	for i := range count {
		name := fmt.Sprintf("realnode-pv-%02d", i)
		dir := filepath.Join(RootDir, "volumes", name)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		if err := os.Chown(dir, volumeOwner, volumeOwner); err != nil {
			return err
		}
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: q},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				StorageClassName:              StorageClass,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}},
				NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: LabelKey, Operator: corev1.NodeSelectorOpIn, Values: []string{LabelValue}}},
				}}}},
			},
		}
		if _, err := c.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create volume %s: %w", name, err)
		}
	}
	return nil
}
