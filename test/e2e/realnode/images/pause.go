package images

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vtmeta/vtmeta/test/e2e/manifests"
)

// Pause is the sandbox image: the real node's containerd names it as its
// sandbox_image, so no Pod ever needs a registry for it.
var Pause = Registry + "/pause:1"

// BuildPause builds the pause image from ./pause, a static program.
func BuildPause() (Image, error) {
	return build(spec{
		ref: Pause,
		key: "1-" + layout,
		layer: func() (*tree, error) {
			bin := filepath.Join(Dir(), "pause-bin")
			cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./test/e2e/realnode/images/pause")
			cmd.Dir = manifests.Repo()
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("build pause: %w\n%s", err, out)
			}
			t := newTree()
			t.Copy("/pause", bin, 0o755)
			return t, nil
		},
		config: v1.Config{Entrypoint: []string{"/pause"}, User: "65535"},
	})
}
