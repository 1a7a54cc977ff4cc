#!/usr/bin/env bash
# Idle cost of halted VMs: N VMs in one actorvmm process on the emulator (1 MiB of guest RAM each, the built-in
# fleet guest, which greets on COM1 and halts with interrupts off), held alive for S seconds once all have halted.
# While they are held, this script samples the process's own CPU time (utime + stime from /proc/PID/stat, all
# threads) over a window inside the hold and prints it as % of one core; the fleet's own figure (getrusage-style
# process CPU over the whole hold) is printed beside it.
#   bench/idle-cpu.sh            N = 1000, S = 30
#   bench/idle-cpu.sh 200 10     other count and hold
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
n=${1:-1000}
hold=${2:-30}
((hold >= 4)) || { echo "idle-cpu.sh: hold at least 4 s" >&2; exit 2; }
dotnet build src/ActorVmm.Host -c Release -nologo -v quiet -clp:ErrorsOnly >&2
work=$(mktemp -d "${TMPDIR:-/tmp}/actorvmm-idle-cpu.XXXXXX")
trap 'rm -rf "$work"' EXIT
dotnet src/ActorVmm.Host/bin/Release/net10.0/actorvmm.dll fleet --count "$n" --mem 1M --backend emulator \
  --hold-for "$hold" --exits 0 --console-dir "$work/consoles" >"$work/out" 2>"$work/err" &
pid=$!

# utime + stime of the whole process, in clock ticks (fields 14 and 15; the command name may hold spaces).
cpu_ticks() { sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}'; }

until grep -q 'holding them idle' "$work/err"; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/err" >&2; echo "idle-cpu.sh: the fleet ended before all VMs halted" >&2; exit 1; }
  sleep 0.2
done
# Leave a second at each end of the hold out of the window.
sleep 1
window=$((hold - 2))
load=$(cut -d" " -f1-3 /proc/loadavg)
t0=$(date +%s.%N); c0=$(cpu_ticks)
sleep "$window"
t1=$(date +%s.%N); c1=$(cpu_ticks)
wait "$pid" || true
hz=$(getconf CLK_TCK)
echo "== $n halted VMs, held ${hold} s (load average at the start of the window: $load)"
awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v n="$n" 'BEGIN {
  cpu = (c1 - c0) / hz; wall = t1 - t0;
  printf "idle CPU (sampled /proc/PID/stat): %.2f%% of one core over %.1f s (%.1f µs CPU per VM per second)\n", 100 * cpu / wall, wall, 1e6 * cpu / wall / n }'
grep -E 'idle CPU while held|VMs started|host memory per VM' "$work/out" | sed 's/^  //'
