package vitess

import (
	"context"
	"encoding/xml"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vtmeta/vtmeta/test/e2e/plane"
	"github.com/vtmeta/vtmeta/test/e2e/realnode"
)

// weed's other ports stay clear of the node's own (CoreDNS's health port
// is 8080); each gRPC port is its HTTP port + 10000.
const (
	weedMaster   = 19333
	weedVolume   = 18081
	weedFiler    = 18888
	seaweedfsMod = "github.com/seaweedfs/seaweedfs"
)

// buildWeed builds (or finds, cached) the weed command of the version
// test/e2e/realnode/seaweedfs pins, with progress.
func buildWeed(logf plane.Logf) (string, error) {
	_, file, _, _ := runtime.Caller(0)
	mod := filepath.Join(filepath.Dir(file), "..", "realnode", "seaweedfs")
	gomod, err := os.ReadFile(filepath.Join(mod, "go.mod"))
	if err != nil {
		return "", err
	}
	version := ""
	for _, l := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "require "))
		if len(f) >= 2 && f[0] == seaweedfsMod {
			version = f[1]
		}
	}
	if version == "" {
		return "", fmt.Errorf("%s/go.mod requires no %s", mod, seaweedfsMod)
	}
	bin := filepath.Join(plane.BinDir(), "seaweedfs-"+version)
	weed := filepath.Join(bin, "weed")
	if _, err := os.Stat(weed); err == nil {
		return weed, nil
	}
	if err := (plane.GoBuild{
		What: "SeaweedFS " + version + " (weed)",
		Dir:  mod,
		Env:  []string{"CGO_ENABLED=0", "GOFLAGS=-buildvcs=false"},
		Args: []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", weed + ".tmp", seaweedfsMod + "/weed"},
		List: []string{seaweedfsMod + "/weed"},
	}).Run(logf); err != nil {
		return "", err
	}
	return weed, os.Rename(weed+".tmp", weed)
}

// startS3 starts weed server with its S3 gateway, its data under dir, and
// creates the bucket. SeaweedFS with no identities configured checks no
// signature: the Pods' credentials are any.
func startS3(t *testing.T, ctx context.Context, weed, dir string) {
	t.Helper()
	data := filepath.Join(dir, "seaweedfs")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "seaweedfs.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(weed, "server", "-dir="+data, "-ip="+realnode.IP, "-ip.bind=0.0.0.0",
		fmt.Sprintf("-master.port=%d", weedMaster), fmt.Sprintf("-volume.port=%d", weedVolume), fmt.Sprintf("-filer.port=%d", weedFiler),
		"-master.volumeSizeLimitMB=256", "-volume.max=16", "-s3", fmt.Sprintf("-s3.port=%d", s3Port))
	cmd.SysProcAttr = plane.ChildAttr()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	if err := retry(ctx, 3*time.Minute, func() error {
		return s3Do(ctx, http.MethodPut, S3Endpoint()+"/"+S3Bucket, nil, nil)
	}); err != nil {
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("create bucket %s on %s: %v\n%s", S3Bucket, S3Endpoint(), err, tail(string(b), 30))
	}
}

// s3Do sends one request to the S3 server and decodes an XML answer into
// out (nil: none).
func s3Do(ctx context.Context, method, u string, body *os.File, out any) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	if body != nil {
		info, err := body.Stat()
		if err != nil {
			return err
		}
		req.Body, req.ContentLength = body, info.Size()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b := make([]byte, 512)
		n, _ := resp.Body.Read(b)
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, b[:n])
	}
	if out != nil {
		return xml.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// s3Objects lists the bucket's objects under a prefix: key to size.
func s3Objects(ctx context.Context, prefix string) (map[string]int64, error) {
	out := map[string]int64{}
	token := ""
	for {
		q := url.Values{"list-type": {"2"}, "prefix": {prefix}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		var page struct {
			Contents []struct {
				Key  string
				Size int64
			}
			IsTruncated           bool
			NextContinuationToken string
		}
		if err := s3Do(ctx, http.MethodGet, S3Endpoint()+"/"+S3Bucket+"?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		for _, c := range page.Contents {
			out[c.Key] = c.Size
		}
		if !page.IsTruncated || page.NextContinuationToken == "" {
			return out, nil
		}
		token = page.NextContinuationToken
	}
}

// copyBackupsToS3 copies the backups on the backup claim's volume into the
// bucket under S3Root, as a user moving them to an object store would
// (aws s3 sync): Vitess's file and S3 storages lay a backup out alike,
// <root>/<keyspace>/<shard>/<name>/<file>. It returns the files and bytes
// copied.
func (s *scenario) copyBackupsToS3(ctx context.Context) (files int, bytes int64, err error) {
	root, err := s.backupRoot(ctx)
	if err != nil {
		return 0, 0, err
	}
	err = filepath.WalkDir(filepath.Join(root, Keyspace), func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return err
		}
		key := S3Root + "/" + filepath.ToSlash(rel)
		if err := s3Do(ctx, http.MethodPut, S3Endpoint()+"/"+S3Bucket+"/"+(&url.URL{Path: key}).EscapedPath(), f, nil); err != nil {
			return err
		}
		files++
		bytes += info.Size()
		return nil
	})
	return files, bytes, err
}

// backupRoot is the host directory of the backup claim's volume: the root
// of Vitess's file storage.
func (s *scenario) backupRoot(ctx context.Context) (string, error) {
	claim, err := s.c.CoreV1().PersistentVolumeClaims(Namespace).Get(ctx, BackupClaim, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	pv, err := s.c.CoreV1().PersistentVolumes().Get(ctx, claim.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if pv.Spec.HostPath == nil {
		return "", fmt.Errorf("volume %s is not on the node", pv.Name)
	}
	return pv.Spec.HostPath.Path, nil
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
