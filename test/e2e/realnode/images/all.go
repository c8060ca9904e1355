package images

import "github.com/vtmeta/vtmeta/test/e2e/plane"

// All builds (or finds, cached) every image the real node runs Vitess
// with: pause, Vitess, MySQL and etcd. logf (nil: quiet) receives the
// progress of the Vitess binaries' build.
func All(logf plane.Logf) ([]Image, error) {
	var out []Image
	vitess := func() (Image, error) { return BuildVitess(logf) }
	for _, b := range []func() (Image, error){BuildPause, vitess, BuildMySQL, BuildEtcd} {
		img, err := b()
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}
