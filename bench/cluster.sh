#!/usr/bin/env bash
# Cluster benchmark on one machine: three `actorvmm node` processes on loopback (emulator backend,
# 16 vCPUs and 512 MiB each), then
#   1. placement rate: `fleet --count N --cluster` through one node (N VMs of 4 MiB, the built-in
#      fleet guest, 8 creates in flight); fleet prints "created N of N VMs in S s (R VMs/s)";
#   2. failover: SIGKILL the third node, then poll `list --cluster` through the first until every VM
#      runs on the two survivors; prints the seconds from the kill to that listing (each poll is a
#      client process of a second or more, so this is an upper bound).
#   bench/cluster.sh        N = 30
#   bench/cluster.sh 20     another N (at most 32: the two survivors' vCPUs)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
n=${1:-30}
dotnet build src/ActorVmm.Host -c Release -nologo -v quiet -clp:ErrorsOnly >&2
program=src/ActorVmm.Host/bin/Release/net10.0/actorvmm.dll
work=$(mktemp -d "${TMPDIR:-/tmp}/actorvmm-cluster-bench-XXXXXX")
ports=(24551 24552 24553)
seeds="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for port in "${ports[@]}"; do
  dotnet "$program" node --seed "$seeds" --port "$port" --backend emulator --capacity-mem 512M --capacity-vcpus 16 \
    --state-dir "$work/state-$port" --log-level warning 2>"$work/node-$port.err" &
  pids+=($!)
done
for port in "${ports[@]}"; do
  until grep -q "up in cluster" "$work/node-$port.err"; do sleep 0.5; done
done
echo "== placement: $n VMs through 127.0.0.1:${ports[0]}, three nodes up"
dotnet "$program" fleet --count "$n" --mem 4M --cluster "127.0.0.1:${ports[0]}"
echo "== failover: SIGKILL 127.0.0.1:${ports[2]}"
start=$(date +%s.%N)
{ kill -9 "${pids[2]}"; wait "${pids[2]}"; } 2>/dev/null || true
while true; do
  running=$(dotnet "$program" list --cluster "127.0.0.1:${ports[0]}" 2>/dev/null | awk -v dead="127.0.0.1:${ports[2]}" 'NR > 1 && $2 == "running" && $8 != dead' | wc -l)
  [ "$running" -eq "$n" ] && break
done
echo "all $n VMs running on the two survivors $(echo "$(date +%s.%N) - $start" | bc | xargs printf '%.1f') s after SIGKILL"
