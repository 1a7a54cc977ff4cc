#!/usr/bin/env bash
# Density benchmark: N VMs in one actorvmm process on the emulator, 1 MiB of guest RAM each, with
# the built-in fleet guest (first instruction writes the POST port, then it greets on COM1 and halts
# with interrupts off; --hold keeps every VM alive until all have started, then measures RSS).
#   bench/density.sh            N = 10, 100, 1000
#   bench/density.sh 50 500     other counts
# Figures: VM starts/s (after the first, JIT-warming launch), create-to-first-instruction
# (median/p99), and host memory per VM (RSS growth / N, guest pages the guest touched included).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/ActorVmm.Host -c Release -nologo -v quiet -clp:ErrorsOnly >&2
counts=("$@")
((${#counts[@]})) || counts=(10 100 1000)
for n in "${counts[@]}"; do
  echo "== N=$n"
  dotnet src/ActorVmm.Host/bin/Release/net10.0/actorvmm.dll fleet --count "$n" --mem 1M --backend emulator \
    --hold --exits 0 --console-dir "${TMPDIR:-/tmp}/actorvmm-density-$n" 2>/dev/null | sed -n '/^fleet summary/,$p'
done
