// Command coredns is the real node's cluster DNS (test/e2e/realnode):
// CoreDNS with only the plugins the node's Corefile uses, so that it
// builds without the cloud providers' SDKs the full CoreDNS carries. It is
// a module of its own, outside go.work, with CoreDNS's dependency versions;
// build it with GOWORK=off.
package main

import (
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
)

func main() {
	coremain.Run()
}
