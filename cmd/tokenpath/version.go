package main

import (
	"runtime/debug"
	"strings"

	"github.com/prometheus/common/version"
)

// A release build gets its version through the Makefile's -ldflags -X (see
// VERSION). A binary built by `go install …/cmd/tokenpath@v0.2.0` has no
// ldflags, but the go command records the module version in the binary:
// use it, so that such a binary still says which release it is. The revision
// needs no such help: prometheus/common/version reads it from the VCS stamp.
func init() {
	if version.Version != "" {
		return
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return
	}
	version.Version = strings.TrimPrefix(bi.Main.Version, "v")
}
