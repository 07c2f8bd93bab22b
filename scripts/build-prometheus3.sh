#!/usr/bin/env bash
# Builds Prometheus' own server, cmd/prometheus, at the Prometheus module
# version go.mod pins (module v0.3MM.P is release 3.MM.P), version-stamped as
# promu stamps it, and caches it: later calls print the cached path at once.
# The benchmarks compare tokenpath with this binary, the same library version
# tokenpath links.
#
#   scripts/build-prometheus3.sh        # prints the binary's path
#
# Cache: $PROM3_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/tokenpath-bench).
# cmd/prometheus needs modules tokenpath does not (the service-discovery
# plugins, automemlimit, the UI's asset server), so the first build resolves
# them through GOPROXY in a scratch module; with no module proxy reachable it
# fails and says so. Built without the builtinassets tag: the React UI is not
# embedded (the API, which the benchmarks use, is the same).
set -euo pipefail
cd "$(dirname "$0")/.."
modver=$(go list -m -f '{{.Version}}' github.com/prometheus/prometheus)
minor=${modver#v0.}; patch=${minor#*.}; minor=${minor%%.*}
version="3.$((10#$minor - 300)).${patch%%[-+]*}"
cache=${PROM3_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tokenpath-bench}
bin="$cache/prometheus-$version"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mod="$cache/build-$version"
mkdir -p "$mod"
cat >"$mod/go.mod" <<MOD
module tokenpath-bench/prometheus

go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')
MOD
(cd "$mod" && go get "github.com/prometheus/prometheus/cmd/prometheus@$modver" >&2) || {
  echo "build-prometheus3: could not resolve cmd/prometheus@$modver's modules (GOPROXY=$(go env GOPROXY)); cmd/prometheus needs modules tokenpath's go.mod does not list, so a module proxy or a module cache holding them is required" >&2
  exit 1
}
vpkg=github.com/prometheus/common/version
(cd "$mod" && CGO_ENABLED=0 go build -trimpath -o "$bin.tmp" \
  -ldflags "-s -w -X $vpkg.Version=$version -X $vpkg.Revision=module-$modver -X $vpkg.Branch=HEAD -X $vpkg.BuildUser=tokenpath-bench -X $vpkg.BuildDate=$(date -u +%Y%m%d-%H:%M:%S)" \
  github.com/prometheus/prometheus/cmd/prometheus >&2)
mv "$bin.tmp" "$bin"
echo "$bin"
