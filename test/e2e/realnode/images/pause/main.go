// Command pause holds a Pod's namespaces: it sleeps until it is told to
// stop. It is the real node's sandbox image (test/e2e/realnode/images).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
