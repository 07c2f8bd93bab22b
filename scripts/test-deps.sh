#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing, so
# that `make test` works on a fresh Debian machine. As root it runs apt-get;
# otherwise it stops with the exact command to run. The tests themselves fail
# (never skip) when one of these is missing.
set -euo pipefail

# Real peers and tools the tests run, each with why.
packages=(
  prometheus              # remote write, federation and rule tests run a real Prometheus
  prometheus-alertmanager # alert delivery goes to a real Alertmanager
  victoria-metrics        # the fleet tests' second remote-write receiver and query engine
  chromium                # the web UI's browser tests
  nodejs                  # the web UI's JavaScript unit tests (node --test, make test-js)
  gcc                     # cgo (NVML) and the stub libnvidia-ml of the GPU tests
  make                    # the tests build tokenpath through the Makefile's flags
  git                     # version stamping reads the revision and branch
  systemd                 # systemd-analyze verify/security on the unit
  qemu-user               # runs the arm64 release binary
  gcc-aarch64-linux-gnu   # cross-compiles the arm64 release with cgo
  libc6-dev-arm64-cross   # its C library (qemu-aarch64 -L /usr/aarch64-linux-gnu)
)
missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "The tests need Debian packages that are not installed. Run, as root:" >&2
  echo "  apt-get update && $cmd" >&2
  exit 1
fi
echo ">> installing test dependencies: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# A package's post-install may have started its service; the tests start
# their own on free ports, so stop the ones this script just installed.
for p in "${missing[@]}"; do
  case "$p" in
    prometheus|prometheus-alertmanager|victoria-metrics) pkill -x "$p" 2>/dev/null || true ;;
  esac
done
