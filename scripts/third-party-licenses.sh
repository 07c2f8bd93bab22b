#!/usr/bin/env bash
# Writes THIRD_PARTY_LICENSES: the licence of every Go module compiled into tokenpath (name,
# version, licence name, full text) and the NOTICE files those modules ship, as
# github.com/google/go-licenses finds them from go.mod for the packages of ./cmd/tokenpath on
# linux. Fails on a forbidden or unknown licence. Run through `make third-party-licenses`;
# `make check-third-party-licenses` fails when the committed file is stale.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
GO_LICENSES_VERSION=${GO_LICENSES_VERSION:-v1.6.0}
PKG=github.com/ritwikareddykancharla/token-path-observability
tool=("$GO" run "github.com/google/go-licenses@$GO_LICENSES_VERSION")
export GOOS=linux
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# go-licenses logs a warning per package with assembly and per licence URL it cannot look up
# offline; neither changes what it finds, so its stderr is kept only for a failure.
if ! "${tool[@]}" check ./cmd/tokenpath --ignore "$PKG" --disallowed_types=forbidden,unknown 2>"$work/check.log"; then
  grep -v '^W[0-9]' "$work/check.log" >&2 || true
  echo "third-party-licenses: a dependency has a forbidden or unknown licence (above)" >&2
  exit 1
fi
"${tool[@]}" report ./cmd/tokenpath --ignore "$PKG" --template scripts/third_party_licenses.tpl >"$work/out" 2>"$work/report.log" ||
  { cat "$work/report.log" >&2; exit 1; }
"${tool[@]}" save ./cmd/tokenpath --ignore "$PKG" --save_path "$work/saved" 2>"$work/save.log" ||
  { cat "$work/save.log" >&2; exit 1; }
{
  printf '\n================================================================================\n'
  printf 'NOTICE files of the modules above (Apache License 2.0, section 4(d))\n'
  find "$work/saved" -type f -iname 'NOTICE*' | LC_ALL=C sort | while read -r f; do
    printf '\n================================================================================\n%s\n' "${f#"$work/saved/"}"
    printf -- '--------------------------------------------------------------------------------\n'
    cat "$f"
  done
} >>"$work/out"
mv "$work/out" THIRD_PARTY_LICENSES
echo ">> THIRD_PARTY_LICENSES: $(grep -c '^Licence:' THIRD_PARTY_LICENSES) modules"
