package layer

import (
	"fmt"

	"github.com/vtmeta/vtmeta/internal/backup"
	"github.com/vtmeta/vtmeta/internal/dbpod"
	"github.com/vtmeta/vtmeta/internal/names"
	"github.com/vtmeta/vtmeta/internal/vtflags"
	v1 "github.com/vtmeta/vtmeta/proto/vtmeta/v1alpha1"
)

// vttabletArgs are vttablet's flags: where the topology is, who the tablet
// is, where mysqlctld listens, backups, then the pool's own.
func vttabletArgs(t *v1.VitessTablet, hostname string) []string {
	s := t.GetSpec()
	args := append(vtflags.Topology(s.GetClusterConfig().GetTopology()),
		vtflags.Flag("tablet-path", names.Alias(s.GetCell(), uint32(s.GetUid()))),
		vtflags.Flag("tablet-hostname", hostname),
		vtflags.Flag("init-keyspace", s.GetKeyspace()),
		vtflags.Flag("init-shard", s.GetShard()),
		vtflags.Flag("init-tablet-type", s.GetType()),
		vtflags.Flag("port", fmt.Sprint(WebPort)),
		vtflags.Flag("grpc-port", fmt.Sprint(GRPCPort)),
		vtflags.Flag("service-map", "grpc-queryservice,grpc-tabletmanager,grpc-updatestream"),
		vtflags.Flag("mysqlctl-socket", MysqlctlSocket),
		vtflags.Flag("health-check-interval", "5s"),
		// Without it vttablet reports every replica's lag as 0 (its
		// tracker's mode is "disable"): vtgate would route to a lagging
		// replica and vttablet_replication_lag_sec would not exist.
		vtflags.Flag("enable-replication-reporter", "true"),
	)
	args = append(args, backup.Flags("vttablet", s.GetClusterConfig())...)
	args = append(args, backup.Restore(s.GetClusterConfig())...)
	args = append(args, dbpod.CredentialsFlags(s.GetClusterConfig())...)
	return append(args, vtflags.Map(s.GetPool().GetVttablet().GetExtraFlags())...)
}

// mysqlctldArgs are mysqlctld's flags. It waits for mysqld's clean
// shutdown up to the Pod's stop budget (its own default is 5 minutes),
// and its SIGTERM handler gets that long plus its exit.
func mysqlctldArgs(t *v1.VitessTablet, tm timings) []string {
	s := t.GetSpec()
	args := []string{
		vtflags.Flag("tablet-uid", fmt.Sprint(uint32(s.GetUid()))),
		vtflags.Flag("mysql-port", fmt.Sprint(MySQLPort)),
		vtflags.Flag("socket-file", MysqlctlSocket),
		vtflags.Flag("init-db-sql-file", dbpod.InitSQLFile),
		vtflags.Flag("shutdown-wait-time", fmt.Sprintf("%ds", tm.mysqlWait)),
		vtflags.Flag("onterm-timeout", fmt.Sprintf("%ds", tm.mysqlWait+10)),
	}
	args = append(args, dbpod.CredentialsFlags(s.GetClusterConfig())...)
	return append(args, vtflags.Map(s.GetPool().GetMysql().GetExtraFlags())...)
}
