package dbpod

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// runInit runs the init container's script with its absolute paths moved
// under a temporary directory, the way the Pod lays them out: the image's
// /vt, the shared /mnt/vt, the Secret and the ConfigMap. It returns that
// directory and the script's error.
func runInit(t *testing.T, cfg *v1.ClusterConfig, secret map[string]string, base string) (string, error) {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"vt/bin", "vt/config", "mnt/vt", "vt/credentials", "vt/secret", "vt/init-sql"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, s string) {
		if err := os.WriteFile(filepath.Join(root, path), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("vt/bin/mysqlctld", "binary")
	write("vt/config/init_db.sql", "CREATE USER 'vt_repl'@'%';\n# {{custom_sql}}\nSET GLOBAL read_only = ON;\n")
	write("vt/init-sql/init_db.sql", base)
	for k, v := range secret {
		write("vt/secret/"+k, v)
	}
	var pairs []string
	for _, p := range []string{"/mnt/vt", "/vt/credentials", "/vt/secret", "/vt/init-sql", "/vt/bin", "/vt/config"} {
		pairs = append(pairs, p, root+p)
	}
	script := strings.NewReplacer(pairs...).Replace(InitScript(cfg, "mysqlctld"))
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Logf("%s", out)
	}
	return root, err
}

func TestInitScript(t *testing.T) {
	if _, err := exec.LookPath("sed"); err != nil {
		t.Skip("no sed")
	}
	creds := &v1.Credentials{SecretName: "db"}
	t.Run("without credentials the stock init SQL", func(t *testing.T) {
		root, err := runInit(t, &v1.ClusterConfig{}, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		sql, _ := os.ReadFile(filepath.Join(root, InitSQLFile))
		if !strings.HasPrefix(string(sql), "CREATE USER 'vt_repl'@'%';") || strings.Contains(string(sql), "ALTER USER") {
			t.Errorf("init SQL:\n%s", sql)
		}
		if _, err := os.Stat(filepath.Join(root, "mnt/vt/bin/mysqlctld")); err != nil {
			t.Error("mysqlctld not handed over")
		}
	})
	t.Run("passwords set where the base says, escaped", func(t *testing.T) {
		pw := `it's a "secret" \ ok`
		root, err := runInit(t, &v1.ClusterConfig{Credentials: creds}, map[string]string{"vt_repl": pw + "\n", "vt_app": "plain"}, "")
		if err != nil {
			t.Fatal(err)
		}
		sql, _ := os.ReadFile(filepath.Join(root, InitSQLFile))
		want := "# {{custom_sql}}\nALTER USER 'vt_app'@'localhost' IDENTIFIED BY 'plain';\nALTER USER 'vt_repl'@'%' IDENTIFIED BY 'it''s a \"secret\" \\\\ ok';\nSET GLOBAL read_only = ON;\n"
		if !strings.HasSuffix(string(sql), want) {
			t.Errorf("init SQL:\n%s\nwant it to end with\n%s", sql, want)
		}
		var got map[string][]string
		b, _ := os.ReadFile(filepath.Join(root, DBCredentialsFile))
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("credentials file %s: %v", b, err)
		}
		if got["vt_repl"][0] != pw || got["vt_app"][0] != "plain" || len(got) != 2 {
			t.Errorf("credentials file %s", b)
		}
		if _, err := os.Stat(filepath.Join(root, CredentialsDir, "passwords.sql")); err == nil {
			t.Error("the statements file is left behind")
		}
	})
	t.Run("a base of the user's own without the line", func(t *testing.T) {
		cfg := &v1.ClusterConfig{Credentials: creds, InitSql: &v1.InitSQL{ConfigMapName: "sql"}}
		root, err := runInit(t, cfg, map[string]string{"vt_repl": "x"}, "CREATE USER 'vt_repl'@'%';\n")
		if err != nil {
			t.Fatal(err)
		}
		sql, _ := os.ReadFile(filepath.Join(root, InitSQLFile))
		if string(sql) != "CREATE USER 'vt_repl'@'%';\nALTER USER 'vt_repl'@'%' IDENTIFIED BY 'x';\n" {
			t.Errorf("init SQL:\n%s", sql)
		}
	})
	t.Run("a password of two lines", func(t *testing.T) {
		if _, err := runInit(t, &v1.ClusterConfig{Credentials: creds}, map[string]string{"vt_repl": "a\nb"}, ""); err == nil {
			t.Error("accepted")
		}
	})
}
