// Package vitess pins the Vitess release the real node's images carry
// (test/e2e/realnode/images): its go.mod requires vitess.io/vitess and
// names the commands to build as tools, so that `go build` of them uses
// Vitess's own dependency versions. It is a module of its own, outside
// go.work (Vitess's pins would collide with the services'), and Vitess's
// go.mod has an exclude directive, which `go install pkg@version` refuses:
// hence a module rather than go install. Build it with GOWORK=off;
// test/e2e/realnode/images does.
package vitess
