#!/usr/bin/env bash
# Idle cost of halted VMs: N VMs in one actorvmm process on the emulator (1 MiB of guest RAM each, the built-in
# fleet guest, which greets on COM1 and halts with interrupts off), held alive once all have halted. While they are
# held, this script samples the process's own CPU time (utime + stime of all threads, /proc/PID/stat) over a window
# and prints it as % of one core. The window starts SETTLE seconds into the hold: right after a fleet starts, the
# runtime is still compiling hot methods in the background (tiered JIT), a one-time cost that is not the idle cost.
#
# Two runs in the same invocation, same binary: the baseline with Akka's own scheduler (HashedWheelTimerScheduler,
# a 10 ms tick for the system's whole life, selected with --config) and the shipped config/akka.hocon
# (TimerQueueScheduler). The fleet's own figure over the whole hold is printed beside each.
#   bench/idle-cpu.sh              N = 1000, WINDOW = 20 s, SETTLE = 10 s
#   bench/idle-cpu.sh 200 10 5     other count, window and settle
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
n=${1:-1000}
window=${2:-20}
settle=${3:-10}
((window >= 2 && settle >= 0)) || { echo "idle-cpu.sh: a window of at least 2 s" >&2; exit 2; }
hold=$((settle + window + 2))
dotnet build src/ActorVmm.Host -c Release -nologo -v quiet -clp:ErrorsOnly >&2
work=$(mktemp -d "${TMPDIR:-/tmp}/actorvmm-idle-cpu.XXXXXX")
pid=
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
printf 'akka.scheduler.implementation = "Akka.Actor.HashedWheelTimerScheduler, Akka"\n' >"$work/akka-wheel.hocon"
hz=$(getconf CLK_TCK)

# utime + stime of the whole process, in clock ticks (fields 14 and 15; the command name may hold spaces).
cpu_ticks() { sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}'; }

# measure LABEL [fleet options]: prints one line "LABEL PERCENT" to $work/results and the details on stdout.
measure() {
  local label=$1; shift
  local run="$work/$label"
  mkdir -p "$run"
  dotnet src/ActorVmm.Host/bin/Release/net10.0/actorvmm.dll fleet --count "$n" --mem 1M --backend emulator \
    --hold-for "$hold" --exits 0 --name-prefix "idle$$-$label-" --console-dir "$run/consoles" "$@" >"$run/out" 2>"$run/err" &
  pid=$!
  until grep -q 'holding them idle' "$run/err"; do
    kill -0 "$pid" 2>/dev/null || { cat "$run/err" >&2; echo "idle-cpu.sh: the fleet ended before all VMs halted" >&2; exit 1; }
    sleep 0.2
  done
  sleep "$settle"
  local load t0 c0 t1 c1
  load=$(cut -d" " -f1-3 /proc/loadavg)
  t0=$(date +%s.%N); c0=$(cpu_ticks)
  sleep "$window"
  t1=$(date +%s.%N); c1=$(cpu_ticks)
  wait "$pid" || true
  pid=
  echo "== $label: $n halted VMs, window of ${window} s from ${settle} s into a ${hold} s hold (load average at its start: $load)"
  awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v n="$n" -v label="$label" -v results="$work/results" 'BEGIN {
    cpu = (c1 - c0) / hz; wall = t1 - t0; pct = 100 * cpu / wall;
    printf "idle CPU (sampled /proc/PID/stat): %.2f%% of one core over %.1f s (%.1f µs CPU per VM per second)\n", pct, wall, 1e6 * cpu / wall / n;
    printf "%s %.4f\n", label, pct >> results }'
  grep -E 'idle CPU while held|VMs started|host memory per VM|memory left' "$run/out" | sed 's/^  /fleet: /'
}

measure akka-wheel --config "$work/akka-wheel.hocon"
measure shipped
awk '{ p[$1] = $2 } END {
  printf "== shipped scheduler vs Akka wheel: %.2f%% vs %.2f%% of one core", p["shipped"], p["akka-wheel"];
  if (p["shipped"] > 0) printf " (%.1fx less)", p["akka-wheel"] / p["shipped"];
  printf "\n" }' "$work/results"
