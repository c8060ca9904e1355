package images

// All builds (or finds, cached) every image the real node runs Vitess
// with: pause, Vitess, MySQL and etcd.
func All() ([]Image, error) {
	var out []Image
	for _, b := range []func() (Image, error){BuildPause, BuildVitess, BuildMySQL, BuildEtcd} {
		img, err := b()
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}
