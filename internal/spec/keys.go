package spec

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// The label and annotation domains vtmeta and Metacontroller write under to
// find, hash and own children. No key of a user's labels or annotations
// may be in them: a user's vitess.io/desired-hash would stand in for the
// hash stamp, a user's vitess.io/cell would move a child to another
// selector, a user's metacontroller.k8s.io/last-applied-configuration would
// replace the record children are held from.
var reservedDomains = []string{"vitess.io", "metacontroller.k8s.io"}

// Reserved says whether a label or annotation key belongs to vtmeta or
// Metacontroller: its prefix is vitess.io or metacontroller.k8s.io, or a
// subdomain of either.
func Reserved(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	prefix = strings.ToLower(prefix)
	for _, d := range reservedDomains {
		if prefix == d || strings.HasSuffix(prefix, "."+d) {
			return true
		}
	}
	return false
}

// UserLabels checks labels a user gives: each key a valid, unreserved label
// key and each value a valid label value.
func UserLabels(field string, m map[string]string) error {
	return userKeys(field, m, true)
}

// UserAnnotations checks annotations a user gives: each key a valid,
// unreserved annotation key.
func UserAnnotations(field string, m map[string]string) error {
	return userKeys(field, m, false)
}

func userKeys(field string, m map[string]string, label bool) error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if err := key(field, k, label); err != nil {
			errs = append(errs, err)
			continue
		}
		if label {
			if msgs := validation.IsValidLabelValue(m[k]); len(msgs) > 0 {
				errs = append(errs, fieldErr(field+"."+k, "InvalidLabel", "label value %q: %s", m[k], strings.Join(msgs, "; ")))
			}
		}
	}
	return errors.Join(errs...)
}

// key checks one user-given key.
func key(field, k string, label bool) error {
	what := "annotation"
	if label {
		what = "label"
	}
	if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
		return fieldErr(field, "InvalidLabel", "%s key %q: %s", what, k, strings.Join(msgs, "; "))
	}
	if Reserved(k) {
		return fieldErr(field+"."+k, "ReservedKey",
			"%s key %q is reserved: keys under vitess.io/ and metacontroller.k8s.io/ are what vtmeta and Metacontroller use to find, hash and own objects; use a key of your own domain, such as example.com/%s",
			what, k, k[strings.IndexByte(k, '/')+1:])
	}
	return nil
}

// Inherited checks the selector and template a parent layer handed down:
// their labels may carry vtmeta's keys only as the identity of the object
// (want: each reserved key the layers above set, with the value it must
// have; the original Metacontroller example set fewer of them, so a key may
// be missing), and user keys are checked as UserLabels checks them; the
// template's annotations carry no reserved key at all. A VitessShard whose
// template says vitess.io/cell: zone2 while its spec says zone1 is refused.
func Inherited(field string, sel *v1.LabelSelector, tmpl *v1.Template, want map[string]string) error {
	var errs []error
	check := func(f string, m map[string]string) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if v, ok := want[k]; ok {
				if m[k] != v {
					errs = append(errs, fieldErr(f+"."+k, "IdentityMismatch",
						"%s is %q where this object is %q: the label names the object, and the layer above sets it", k, m[k], v))
				}
				continue
			}
			errs = append(errs, UserLabels(f, map[string]string{k: m[k]}))
		}
	}
	check(field+".selector.matchLabels", sel.GetMatchLabels())
	check(field+".template.metadata.labels", tmpl.GetMetadata().GetLabels())
	errs = append(errs, UserAnnotations(field+".template.metadata.annotations", tmpl.GetMetadata().GetAnnotations()))
	return errors.Join(errs...)
}
