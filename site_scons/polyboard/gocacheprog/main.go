// Command gocacheprog is polyboard's GOCACHEPROG helper: the Go layer of the remote build
// cache (docs/remote-cache.md). The go command starts it and asks it for build outputs by
// action ID (the protocol of cmd/go/internal/cacheprog, Go 1.24+); it answers from a local
// folder, then from a server speaking Bazel's HTTP cache protocol (/ac/<sha256 of the action
// ID> holds an ActionResult naming the output's sha256, /cas/<sha256> the bytes), and uploads
// what go built. polyboard builds it with the host's go (no dependency outside the standard
// library) and sets GOCACHEPROG for every go command when remote_cache= is given.
//
//	gocacheprog -dir DIR [-remote URL] [-upload=false] [-stats FILE]
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	dir := flag.String("dir", "", "local cache folder (required): the files go reads (DiskPath)")
	remote := flag.String("remote", "", "base URL of the Bazel HTTP cache (without it: the local folder only)")
	upload := flag.Bool("upload", true, "upload what go built (false: read only, never PUT)")
	statsFile := flag.String("stats", "", "file to append this go command's counts to, as one JSON line")
	flag.Parse()
	if *dir == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: gocacheprog -dir DIR [-remote URL] [-upload=false] [-stats FILE]")
		os.Exit(2)
	}
	c, err := newCache(*dir, *remote, *upload, *statsFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gocacheprog: %v\n", err)
		os.Exit(1)
	}
	if err := serve(os.Stdin, os.Stdout, c); err != nil {
		fmt.Fprintf(os.Stderr, "gocacheprog: %v\n", err)
		os.Exit(1)
	}
}
