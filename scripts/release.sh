#!/usr/bin/env bash
# Builds the release: for linux-amd64 and linux-arm64, a directory
# dist/tokenpath-<version>.linux-<arch>/ (binary, LICENSE, NOTICE,
# THIRD_PARTY_LICENSES, example
# tokenpath.yml, systemd unit), its .tar.gz and a Debian package, plus
# dist/sha256sums.txt. Run through `make release`.
#
# Reproducible: -trimpath, the Makefile's -ldflags with SOURCE_DATE_EPOCH
# (the build date comes from it, the build user is fixed), stripped binaries,
# and archives with sorted names, fixed owners, modes and mtimes and no gzip
# timestamp; building one commit twice gives identical bytes.
#
# Both binaries are built with cgo (NVML): arm64 through Debian's
# cross compiler gcc-aarch64-linux-gnu.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
# nfpm, a maintained Go packager, builds the .deb (run through the Go module
# proxy like any Go tool; go run caches the build).
NFPM_VERSION=${NFPM_VERSION:-v2.45.2}
DIST=${DIST:-dist}
ARCHES=${ARCHES:-"amd64 arm64"}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
VERSION=${VERSION:-$(cat VERSION)}
# A release commit is tagged v<VERSION>; a tag that says otherwise is a
# mistake to catch before anything is built.
if tag=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null) && [ "${tag#v}" != "$VERSION" ]; then
  echo "release: HEAD is tagged $tag but VERSION says $VERSION" >&2
  exit 1
fi
LDFLAGS="$(make -s --no-print-directory print-ldflags SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" VERSION="$VERSION")"
CGO_CFLAGS="$(make -s --no-print-directory print-cgo-cflags)"
export CGO_CFLAGS

mkdir -p "$DIST"
for arch in $ARCHES; do
  case "$arch" in
    amd64) cc=${CC_AMD64:-gcc} ;;
    arm64) cc=${CC_ARM64:-aarch64-linux-gnu-gcc} ;;
    *) echo "release: unknown architecture $arch" >&2; exit 1 ;;
  esac
  command -v "$cc" >/dev/null || { echo "release: $cc not found (scripts/test-deps.sh installs it)" >&2; exit 1; }
  name="tokenpath-$VERSION.linux-$arch"
  stage="$DIST/$name"
  echo ">> building $name"
  rm -rf "$stage" "$stage.tar.gz"
  mkdir -p "$stage"
  CGO_ENABLED=1 GOOS=linux GOARCH="$arch" CC="$cc" \
    "$GO" build -trimpath -ldflags "$LDFLAGS -s -w" -o "$stage/tokenpath" ./cmd/tokenpath
  cp LICENSE NOTICE THIRD_PARTY_LICENSES packaging/tokenpath.yml packaging/tokenpath.service "$stage/"
  chmod 0755 "$stage" "$stage/tokenpath"
  chmod 0644 "$stage/LICENSE" "$stage/NOTICE" "$stage/THIRD_PARTY_LICENSES" "$stage/tokenpath.yml" "$stage/tokenpath.service"
  touch -h -d "@$SOURCE_DATE_EPOCH" "$stage" "$stage"/*
  tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
    --format=gnu -C "$DIST" -cf - "$name" | gzip -9n >"$stage.tar.gz"

  # The Debian package: the same binary and files plus /etc/default/tokenpath,
  # staged with fixed mtimes (nfpm takes each file's own).
  debstage="$DIST/.deb-stage-$arch"
  rm -rf "$debstage"
  mkdir -p "$debstage"
  cp -p "$stage"/* "$debstage/"
  cp packaging/tokenpath.default "$debstage/"
  touch -h -d "@$SOURCE_DATE_EPOCH" "$debstage"/*
  deb="$DIST/tokenpath_${VERSION}_${arch}.deb"
  rm -f "$deb"
  STAGE="$debstage" DEB_ARCH="$arch" VERSION="$VERSION" \
    "$GO" run "github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION" package \
    --config packaging/nfpm.yaml --packager deb --target "$deb" >/dev/null
  rm -rf "$debstage"
  echo ">> $deb"
done

shopt -s nullglob
(cd "$DIST" && sha256sum -- *.tar.gz *.deb) >"$DIST/sha256sums.txt"
echo ">> $DIST/sha256sums.txt"
cat "$DIST/sha256sums.txt"
