#!/usr/bin/env bash
# One entry point for people and CI:
#   ./build.sh run [actorvmm args...]   boot the built-in demo guest on the best backend available
#   ./build.sh test [dotnet test args]  install what the tests need (as root), build in Release, run every test
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

command -v dotnet >/dev/null || { echo "build.sh: the .NET 10 SDK (dotnet) is required: https://learn.microsoft.com/dotnet/core/install/linux" >&2; exit 2; }

# Exit status when the machine lacks test prerequisites that build.sh may not install itself.
readonly EXIT_MISSING_PREREQUISITES=3

# Debian/Ubuntu packages the tests need beyond the .NET SDK, one per line, only those missing:
#   gcc, linux-libc-dev  the KVM interop check compiles C against <linux/kvm.h> (tests/ActorVmm.Kvm.Tests/Interop)
#   libunicorn2          the emulator's differential tests load libunicorn.so.2 (tests/ActorVmm.Emulator.Tests)
#   device-tree-compiler the device-tree tests check the DTBs against dtc (tests/ActorVmm.Devices.Tests/DeviceTree)
missing_test_packages() {
  command -v gcc >/dev/null || echo gcc
  [[ -f /usr/include/linux/kvm.h ]] || echo linux-libc-dev
  has_shared_library libunicorn.so.2 || echo libunicorn2
  command -v dtc >/dev/null || echo device-tree-compiler
}

# True when the dynamic loader finds the library (ldconfig lives in /sbin, often outside a user's PATH).
has_shared_library() {
  local ldconfig
  ldconfig=$(PATH="$PATH:/usr/sbin:/sbin" command -v ldconfig) || return 1
  "$ldconfig" -p | awk -v lib="$1" '$1 == lib { found = 1 } END { exit !found }'
}

# Installs the missing test packages as root (quietly; apt's output only when it fails), or tells the
# user the one command to run and stops before anything is built.
ensure_test_prerequisites() {
  local need
  mapfile -t need < <(missing_test_packages)
  ((${#need[@]})) || return 0
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    echo "build.sh: the tests need packages this machine lacks (${need[*]}); install them, then run ./build.sh test again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit "$EXIT_MISSING_PREREQUISITES"
  fi
  echo "build.sh: installing ${need[*]} (needed by the tests)" >&2
  local log
  log=$(mktemp)
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have no package lists yet: update only when the first try fails.
  if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >"$log" 2>&1; then
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      echo "build.sh: could not install ${need[*]}" >&2
      exit "$EXIT_MISSING_PREREQUISITES"
    fi
  fi
  rm -f "$log"
  mapfile -t need < <(missing_test_packages)
  if ((${#need[@]})); then
    echo "build.sh: still missing after the install: ${need[*]}" >&2
    exit "$EXIT_MISSING_PREREQUISITES"
  fi
}

# Prints each failed test of the TRX files under $1 with the first lines of its message: a long, parallel test run's
# console interleaves the projects, and the tail a CI log keeps may not reach the failure itself.
summarize_failed_tests() {
  local trx=("$1"/*.trx)
  [[ -e ${trx[0]} ]] || return 0
  awk '
    /<UnitTestResult / {
      failed = /outcome="Failed"/
      if (failed && match($0, /testName="[^"]*"/)) print "  FAILED " substr($0, RSTART + 10, RLENGTH - 11)
    }
    failed && /<Message>/ { printing = 1; lines = 0; sub(/.*<Message>/, "") }
    printing {
      done = sub(/<\/Message>.*/, "")
      gsub(/&lt;/, "<"); gsub(/&gt;/, ">"); gsub(/&quot;/, "\""); gsub(/&#xD;/, ""); gsub(/&amp;/, "\\&")
      if (lines++ < 12) print "    " $0
      if (done) { printing = 0; failed = 0 }
    }
  ' "${trx[@]}"
}

cmd=${1:-run}
shift || true
case "$cmd" in
  run)
    dotnet build src/ActorVmm.Host -c Release -nologo -v quiet -clp:ErrorsOnly >&2
    exec dotnet src/ActorVmm.Host/bin/Release/net10.0/actorvmm.dll run "$@"
    ;;
  test)
    ensure_test_prerequisites
    dotnet build ActorVmm.sln -c Release -nologo -clp:ErrorsOnly
    results=$(mktemp -d)
    trap 'rm -rf "$results"' EXIT
    if ! dotnet test ActorVmm.sln -c Release --no-build -nologo --logger "console;verbosity=normal" \
        --logger trx --results-directory "$results" "$@"; then
      echo "build.sh: tests failed:" >&2
      summarize_failed_tests "$results" >&2
      exit 1
    fi
    ;;
  *)
    echo "usage: ./build.sh run [args...] | ./build.sh test [dotnet test args...]" >&2
    exit 2
    ;;
esac
