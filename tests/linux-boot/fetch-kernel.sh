#!/usr/bin/env bash
# Prints the unpacked Debian kernel package that linux-image-amd64 depends on, fetching it into CACHE_DIR first if it
# is not there (apt-get download + dpkg-deb -x; never installed). Shared by run.sh and tests/nested-kvm/run.sh.
#   fetch-kernel.sh CACHE_DIR   -> prints CACHE_DIR/linux-image-<version>-amd64
set -euo pipefail
cache="$1"
mkdir -p "$cache"
kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[[ -n "$kpkg" ]] || { echo "fetch-kernel: cannot resolve the kernel package of linux-image-amd64" >&2; exit 1; }
if [[ ! -d "$cache/$kpkg" ]]; then
  echo "fetch-kernel: fetching $kpkg" >&2
  rm -f "$cache"/linux-image-*.deb
  (cd "$cache" && apt-get download -qq "$kpkg" >/dev/null 2>&1 || { apt-get update -qq && apt-get download -qq "$kpkg"; }) >&2
  rm -rf "$cache/$kpkg.tmp"
  dpkg-deb -x "$cache"/"$kpkg"_*.deb "$cache/$kpkg.tmp" && mv "$cache/$kpkg.tmp" "$cache/$kpkg"
  rm -f "$cache"/"$kpkg"_*.deb
fi
echo "$cache/$kpkg"
