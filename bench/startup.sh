#!/usr/bin/env bash
# Start-up benchmark: median wall time and CPU time (user + sys) of N process runs each of
#   floor   a bare .NET console "hello" (built here in a temporary directory): the runtime's own start
#   run     actorvmm run --image tiny.bin --backend emulator, a guest whose first instructions exit
#           (real mode at 1000:0000: mov al,0; out 0xF4,al; shared/design/guest-conventions.md)
#   fleet   actorvmm fleet --count 1 --backend emulator (the built-in fleet guest)
# and each one's ratio to the floor measured in the same run. The project's target: run <= 3x floor.
#   bench/startup.sh         N = 10
#   bench/startup.sh 20      N = 20
# Runs the program the way ./build.sh run does (dotnet src/ActorVmm.Host/bin/Release/net10.0/actorvmm.dll).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
runs=${1:-10}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/startup.sh [runs]" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# build DIR ARGS...: a quiet Release build; its log only when it fails.
build() {
  dotnet build "$@" -c Release -nologo -v quiet -clp:ErrorsOnly >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
}

build src/ActorVmm.Host
program=src/ActorVmm.Host/bin/Release/net10.0/actorvmm.dll

# The floor: the smallest console program, built with the same SDK and Release settings.
mkdir -p "$work/hello"
cat >"$work/hello/hello.csproj" <<'EOF'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <InvariantGlobalization>true</InvariantGlobalization>
  </PropertyGroup>
</Project>
EOF
echo 'System.Console.WriteLine("hello");' >"$work/hello/Program.cs"
build "$work/hello" -o "$work/hello/out"

# The guest: B0 00 = mov al,0; E6 F4 = out 0xF4,al (exit status 0).
printf '\xb0\x00\xe6\xf4' >"$work/tiny.bin"

# measure NAME COMMAND...: runs COMMAND $runs times (after one unmeasured warm-up run that fills the
# page cache), fails on a non-zero exit, and prints the medians.
declare -A wall cpu
measure() {
  local name=$1 i status times="$work/times-$1"
  shift
  "$@" </dev/null >/dev/null 2>&1 || { echo "startup: '$*' failed (exit $?)" >&2; exit 1; }
  : >"$times"
  for ((i = 0; i < runs; i++)); do
    status=0
    { TIMEFORMAT="%R %U %S"; time "$@" </dev/null >/dev/null 2>"$work/stderr" || status=$?; } 2>>"$times"
    if ((status)); then
      echo "startup: '$*' failed (exit $status):" >&2
      cat "$work/stderr" >&2
      exit 1
    fi
  done
  wall[$name]=$(awk '{ print $1 }' "$times" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
  cpu[$name]=$(awk '{ print $2 + $3 }' "$times" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
}

measure floor dotnet "$work/hello/out/hello.dll"
measure run dotnet "$program" run --image "$work/tiny.bin" --backend emulator
measure fleet dotnet "$program" fleet --count 1 --backend emulator --console-dir "$work/consoles"

echo "startup: median of $runs runs each ($(nproc) CPUs, $(dotnet --version) SDK)"
printf '%-8s %10s %10s %12s %12s\n' what "wall (s)" "CPU (s)" "wall/floor" "CPU/floor"
for name in floor run fleet; do
  printf '%-8s %10.3f %10.3f %11.1fx %11.1fx\n' "$name" "${wall[$name]}" "${cpu[$name]}" \
    "$(awk -v a="${wall[$name]}" -v b="${wall[floor]}" 'BEGIN { print a / b }')" \
    "$(awk -v a="${cpu[$name]}" -v b="${cpu[floor]}" 'BEGIN { print (b > 0) ? a / b : 0 }')"
done
awk -v r="${wall[run]}" -v f="${wall[floor]}" 'BEGIN { printf "target run <= 3x floor (wall): %s (%.1fx)\n", (r <= 3 * f) ? "met" : "missed", r / f }'
