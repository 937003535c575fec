// Command pause is Storestack's pod sandbox process: PID 1 of every pod on the real node.
//
// Built by images/build.py (CGO_ENABLED=0, stdlib only) into localhost/storestack/pause. It holds
// the pod's namespaces open doing nothing, reaps any zombie re-parented to it (it is PID 1 of the
// pod's PID namespace when that is shared), and exits 0 on SIGTERM or SIGINT.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		fmt.Println("storestack pause 1.0")
		return
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig == syscall.SIGCHLD {
			reap()
			continue
		}
		reap()
		os.Exit(0)
	}
}
