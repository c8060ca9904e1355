// Package deploy carries the manifests the apiserver judges vtmeta's
// objects by — the CRDs of deploy/crds and the admission policies of
// deploy/policy — so that tools can judge objects offline exactly as a
// cluster with vtmeta installed would, without a checkout beside them.
package deploy

import "embed"

// FS holds crds/*.yaml and policy/*.yaml as they are in the repository.
//
//go:embed crds/*.yaml policy/*.yaml
var FS embed.FS
