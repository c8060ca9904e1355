// Package seaweedfs pins the S3-compatible server the real-node scenario
// keeps backups on: its go.mod requires github.com/seaweedfs/seaweedfs and
// names the weed command as a tool, so that `go build` of it uses
// SeaweedFS's own dependency versions. It is a module of its own, outside
// go.work (its pins would collide with the services'). Build it with
// GOWORK=off; test/e2e/vitess does (weed server -s3 on the node's address).
package seaweedfs
