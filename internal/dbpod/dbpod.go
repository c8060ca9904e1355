// Package dbpod builds what every Pod that runs mysqld shares, a tablet's
// and vtbackup's: an init container that hands the mysqld image the
// Vitess binary it runs (mysqlctld, vtbackup) and Vitess's config files,
// then writes the init SQL and the MySQL users' passwords from the
// cluster's credentials Secret on an in-memory volume; those volumes; and
// the flags the Vitess binaries log in to MySQL with.
package dbpod

import (
	"cmp"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vtmeta/vtmeta/internal/shell"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// How a Pod gets its MySQL users' passwords without them ever being in a
// spec: the init container reads them from the cluster's credentials
// Secret, mounted in it alone, and writes, on an in-memory volume, the
// init SQL mysqld is initialized with (the base init SQL plus a statement
// setting each password) and the credentials file the Vitess binaries log
// in with (Vitess's db-credentials-file format).
const (
	// SharedVT is where the init container copies the Vitess binary and
	// Vitess's config files for the mysqld image, which has neither.
	SharedVT = "/mnt/vt"
	// CredentialsDir is the in-memory volume of the files the init
	// container writes, mounted in every container.
	CredentialsDir = "/vt/credentials"
	// InitSQLFile is the init SQL mysqlctld initializes a new MySQL with.
	InitSQLFile = CredentialsDir + "/init_db.sql"
	// DBCredentialsFile is the users' passwords, for vttablet and
	// mysqlctld's --db-credentials-file.
	DBCredentialsFile = CredentialsDir + "/db-credentials.json"
	// secretDir is where the credentials Secret is mounted in the init
	// container.
	secretDir = "/vt/secret"
	// baseSQLDir is where the init SQL ConfigMap is mounted.
	baseSQLDir = "/vt/init-sql"
)

// MySQLUsers are the users of Vitess's init_db.sql whose passwords the
// credentials Secret may set, each with the host it is created for: only
// vt_repl is reachable over the network; the others only over the socket.
var MySQLUsers = []struct{ Name, Host string }{
	{"vt_dba", "localhost"}, {"vt_app", "localhost"}, {"vt_appdebug", "localhost"}, {"vt_allprivs", "localhost"},
	{"vt_repl", "%"}, {"vt_filtered", "localhost"}, {"vt_monitoring", "localhost"},
}

// InitScript is the init container's script: hand the mysqld container
// the Vitess binary it runs and Vitess's config files, then write the
// init SQL and, with credentials, the passwords. binary is a constant of
// the caller's (mysqlctld, vtbackup), never a spec value.
func InitScript(cfg *v1.ClusterConfig, binary string) string {
	base := SharedVT + "/config/init_db.sql"
	if cfg.GetInitSql() != nil {
		base = baseSQLDir + "/init_db.sql"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "set -e\nmkdir -p %[1]s/bin && cp /vt/bin/%[2]s %[1]s/bin/ && cp -R /vt/config %[1]s/\n", SharedVT, binary)
	fmt.Fprintf(&b, "cp %s %s\n", base, InitSQLFile)
	if cfg.GetCredentials() == nil {
		return b.String()
	}
	// SQL strings escape \ and '; JSON strings \ and ".
	var users []string
	for _, u := range MySQLUsers {
		users = append(users, u.Name+"@"+u.Host)
	}
	fmt.Fprintf(&b, `sql=%[1]s/passwords.sql; json=%[2]s; sep=; : > "$sql"; printf '{' > "$json"
for uh in %[3]s; do
  u=${uh%%@*}; h=${uh#*@}; f=%[4]s/$u
  [ -f "$f" ] || continue
  pw=$(cat "$f")
  case "$pw" in *"
"*) echo "the password of $u in the credentials Secret has more than one line" >&2; exit 1;; esac
  printf "ALTER USER '%%s'@'%%s' IDENTIFIED BY '%%s';\n" "$u" "$h" "$(printf '%%s' "$pw" | sed -e 's/\\/\\\\/g' -e "s/'/''/g")" >> "$sql"
  printf '%%s"%%s":["%%s"]' "$sep" "$u" "$(printf '%%s' "$pw" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')" >> "$json"; sep=,
done
printf '}' >> "$json"
if grep -q '{{custom_sql}}' %[5]s; then sed -i "/{{custom_sql}}/r $sql" %[5]s; else cat "$sql" >> %[5]s; fi
rm "$sql"
`, CredentialsDir, DBCredentialsFile, strings.Join(users, " "), secretDir, InitSQLFile)
	return b.String()
}

// Volumes are the Pod's volumes of the shared binary and the credentials:
// the binary's, the in-memory one the init container writes, the Secret,
// and the base init SQL.
func Volumes(cfg *v1.ClusterConfig) []corev1.Volume {
	out := []corev1.Volume{
		{Name: "vt", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "credentials", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
	}
	if c := cfg.GetCredentials(); c != nil {
		out = append(out, corev1.Volume{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: c.GetSecretName()}}})
	}
	if s := cfg.GetInitSql(); s != nil {
		out = append(out, corev1.Volume{Name: "init-sql", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: s.GetConfigMapName()},
			Items:                []corev1.KeyToPath{{Key: cmp.Or(s.GetKey(), "init_db.sql"), Path: "init_db.sql"}},
		}}})
	}
	return out
}

// Mounts of the shared binary and of the credentials the init container
// wrote, in the containers that run Vitess.
var (
	SharedMount      = corev1.VolumeMount{Name: "vt", MountPath: SharedVT}
	CredentialsMount = corev1.VolumeMount{Name: "credentials", MountPath: CredentialsDir, ReadOnly: true}
)

// InitContainer is the init container that prepares the Pod, in the
// Vitess image, for a mysqld container that runs binary.
func InitContainer(cfg *v1.ClusterConfig, image, binary string, security *corev1.SecurityContext) corev1.Container {
	return corev1.Container{
		Name:            "init-vt",
		Image:           image,
		Command:         shell.Command("init-vt", InitScript(cfg, binary)),
		VolumeMounts:    initMounts(cfg),
		SecurityContext: security,
	}
}

// initMounts are the init container's mounts: the shared binary's and the
// credentials'.
func initMounts(cfg *v1.ClusterConfig) []corev1.VolumeMount {
	out := []corev1.VolumeMount{SharedMount, {Name: "credentials", MountPath: CredentialsDir}}
	if cfg.GetCredentials() != nil {
		out = append(out, corev1.VolumeMount{Name: "secret", MountPath: secretDir, ReadOnly: true})
	}
	if cfg.GetInitSql() != nil {
		out = append(out, corev1.VolumeMount{Name: "init-sql", MountPath: baseSQLDir, ReadOnly: true})
	}
	return out
}

// CredentialsFlags are the flags the Vitess binaries log in to MySQL with:
// the credentials file, when the cluster has credentials.
func CredentialsFlags(cfg *v1.ClusterConfig) []string {
	if cfg.GetCredentials() == nil {
		return nil
	}
	return []string{"--db-credentials-server=file", "--db-credentials-file=" + DBCredentialsFile}
}
