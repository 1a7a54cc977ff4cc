#!/usr/bin/env bash
# ActorVmm's emulator backend against QEMU TCG (issue 18), both measured in this one run on the same guests:
#   exit-heavy  a loop of `out dx, al` to the POST port 0x80 (through each VMM's full PC platform), ns per iteration
#   ALU         a 4-instruction loop (add, xor, dec, jnz), guest instructions per second
#   tiny        a guest whose first instructions exit: process start to exit
#   Linux       Debian's kernel + the busybox initramfs (tests/linux-boot/build-initramfs.sh, no modules): process start
#               to /init's first line, and to the process's end (/init reboots, which ends both VMMs)
# The flat guests come from one assembler (the lane program's --save-bench-guests, tests/ActorVmm.KvmLane/BenchImages.cs),
# so both run byte-identical code: actorvmm as `run --image G.bin`, QEMU as `-bios G-bios.bin` (the same firmware wrapper
# and isa-debug-exit as the nested lane's VFIO step). Each loop runs at N and 2N iterations and the figure is the
# difference over N, so each VMM's start-up (a .NET start vs. a C program's) cancels out; tiny shows the start-up itself.
# Runs alternate QEMU and actorvmm so both see the same load; each figure is the median of RUNS runs.
# Ratios are printed as actorvmm/QEMU speed (above 1: actorvmm is faster) against the issue's targets:
# exit-heavy >= 1x, ALU >= 0.5x, Linux to init in <= 3x QEMU's time (speed >= 0.33x).
#   bench/emulator-vs-qemu.sh           RUNS = 3
#   bench/emulator-vs-qemu.sh 5         RUNS = 5
# Environment: EXIT_ITERATIONS (20000000), ALU_ITERATIONS (1000000000: at 10^8 the loop took ~0.15 s, less than
# the start-up noise between runs, and the figure was noise), LINUX_RUNS (1), LINUX_TIMEOUT (1200 s),
# LINUX_PARAMS: extra kernel parameters (none by default), given to both VMMs after the platform's own parameters
# ("console=ttyS0 reboot=k acpi=off", which QEMU gets too). SKIP_LINUX=1 leaves the Linux boot out.
# Installs qemu-system-x86, busybox-static and cpio if missing (as tests/nested-kvm/run.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
runs=${1:-3}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/emulator-vs-qemu.sh [runs]" >&2; exit 2; }
exit_n=${EXIT_ITERATIONS:-20000000}
alu_n=${ALU_ITERATIONS:-1000000000}
linux_runs=${LINUX_RUNS:-1}
linux_timeout=${LINUX_TIMEOUT:-1200}
linux_params=${LINUX_PARAMS:-}
linux_mem_mib=256
# The kernel parameters actorvmm's platform puts before -p's (docs/linux-boot.md); QEMU gets the same line.
platform_params="console=ttyS0 reboot=k acpi=off"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
if ((${#need[@]})); then
  echo "emulator-vs-qemu: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi

build() {
  dotnet build "$1" -c Release -nologo -v quiet -clp:ErrorsOnly >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
}
build src/ActorVmm.Host
build tests/ActorVmm.KvmLane
# The sources the measured binaries were built from (the tree may change while the script runs).
built_from="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo '+changes')"
avm=src/ActorVmm.Host/bin/Release/net10.0/actorvmm.dll
guests="$work/guests"
dotnet tests/ActorVmm.KvmLane/bin/Release/net10.0/ActorVmm.KvmLane.dll --save-bench-guests "$guests" "$exit_n" "$alu_n"

# Each VMM's command for a flat guest; actorvmm exits with the guest's status (0), QEMU's isa-debug-exit with
# (status << 1) | 1 (guest-conventions.md).
avm_flat() { dotnet "$avm" run --image "$guests/$1.bin" --backend emulator --console none; }
qemu_flat() {
  qemu-system-x86_64 -accel tcg -M pc -m 32 -nodefaults -display none -no-reboot \
    -bios "$guests/$1-bios.bin" -device isa-debug-exit,iobase=0xf4,iosize=1
}
declare -A expect_rc=([avm]=0 [qemu]=1)

# timed VMM GUEST: one run, its wall seconds appended to $work/VMM-GUEST; fails on an unexpected exit code.
timed() {
  local vmm=$1 guest=$2 t0 t1 rc=0
  t0=$EPOCHREALTIME
  "${vmm}_flat" "$guest" </dev/null >/dev/null 2>"$work/stderr" || rc=$?
  t1=$EPOCHREALTIME
  if ((rc != ${expect_rc[$vmm]})); then
    echo "emulator-vs-qemu: $vmm on $guest exited $rc, expected ${expect_rc[$vmm]}:" >&2
    cat "$work/stderr" >&2
    exit 1
  fi
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$work/$vmm-$guest"
}
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

exit_guests=("out80-$exit_n" "out80-$((2 * exit_n))")
alu_guests=("alu-$alu_n" "alu-$((2 * alu_n))")
flat_guests=(tiny "${exit_guests[@]}" "${alu_guests[@]}")
# One unmeasured run of each guest fills the page cache and QEMU's and .NET's first-run costs.
for g in "${flat_guests[@]}"; do timed qemu "$g"; timed avm "$g"; done
rm -f "$work"/qemu-* "$work"/avm-*
for ((r = 0; r < runs; r++)); do
  for g in "${flat_guests[@]}"; do timed qemu "$g"; timed avm "$g"; done
done

# per_iteration VMM N GUEST_N GUEST_2N: seconds per iteration from the medians' difference.
per_iteration() { awk -v a="$(median "$work/$1-$3")" -v b="$(median "$work/$1-$4")" -v n="$2" 'BEGIN { printf "%.6e\n", (b - a) / n }'; }
for vmm in qemu avm; do
  declare "exit_$vmm=$(per_iteration "$vmm" "$exit_n" "${exit_guests[@]}")"
  declare "alu_$vmm=$(per_iteration "$vmm" "$alu_n" "${alu_guests[@]}")"
  declare "tiny_$vmm=$(median "$work/$vmm-tiny")"
done

# Linux: each console line stamped on arrival; times from process start.
linux_times=()
if [[ "${SKIP_LINUX:-0}" != 1 ]]; then
  kroot=$(tests/linux-boot/fetch-kernel.sh tests/nested-kvm/.cache)
  vmlinuz=$(ls "$kroot"/boot/vmlinuz-* | head -1)
  tests/linux-boot/build-initramfs.sh "$work/initrd.gz"
  avm_linux=(dotnet "$avm" run -k "$vmlinuz" -i "$work/initrd.gz" -m "${linux_mem_mib}M" -c 1 --backend emulator
    --experimental-emulator-linux -p "panic=-1 $linux_params" --console serial)
  qemu_linux=(qemu-system-x86_64 -accel tcg -M pc -m "$linux_mem_mib" -smp 1 -nodefaults -display none -no-reboot -serial stdio
    -kernel "$vmlinuz" -initrd "$work/initrd.gz" -append "$platform_params panic=-1 $linux_params")
  # linux_run VMM RUN: appends "INIT EXIT" seconds to $work/linux-VMM; fails unless /init ran to its reboot.
  linux_run() {
    local vmm=$1 log="$work/linux-$1-$2.log" t0 t1 rc
    local -n vmm_command="${vmm}_linux"
    t0=$EPOCHREALTIME
    set +e
    timeout "$linux_timeout" "${vmm_command[@]}" </dev/null 2>"$work/stderr" \
      | while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$log"
    rc=${PIPESTATUS[0]}
    set -e
    t1=$EPOCHREALTIME
    if ((rc != 0)) || ! grep -a -q ' LINUX-REBOOT' "$log"; then
      echo "emulator-vs-qemu: Linux under $vmm exited $rc without /init's reboot; last lines:" >&2
      tail -n 20 "$log" >&2
      cat "$work/stderr" >&2
      exit 1
    fi
    awk -v t0="$t0" -v t1="$t1" 'index($0, "LINUX-INIT ") && !init { init = $1 - t0 } END { printf "%.3f %.3f\n", init, t1 - t0 }' "$log" >>"$work/linux-$vmm"
  }
  for ((r = 0; r < linux_runs; r++)); do linux_run qemu "$r"; linux_run avm "$r"; done
  for vmm in qemu avm; do
    declare "linux_init_$vmm=$(cut -d' ' -f1 "$work/linux-$vmm" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
    declare "linux_exit_$vmm=$(cut -d' ' -f2 "$work/linux-$vmm" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
  done
fi

# verdict SPEED_RATIO TARGET: MET or MISSED (a non-positive figure, from noise swamping the difference, is UNRELIABLE).
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { if (r <= 0) print "UNRELIABLE"; else print (r >= t) ? "MET" : "MISSED" }'; }
ratio() { awk -v q="$1" -v a="$2" 'BEGIN { print (q > 0 && a > 0) ? q / a : 0 }'; }
row() { # row WHAT QEMU ACTORVMM SPEED_RATIO [TARGET_TEXT TARGET]
  printf '%-32s %10s %10s %8.2fx  %s\n' "$1" "$2" "$3" "$4" "${5:+target >= $5: $(verdict "$4" "$6")}"
}
ns() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1e9 }'; }
mips() { awk -v s="$1" 'BEGIN { printf "%.0f", (s > 0) ? 4e-6 / s : 0 }'; }
echo "emulator-vs-qemu: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(qemu-system-x86_64 --version | head -1), .NET SDK $(dotnet --version), actorvmm built from $built_from"
echo "flat guests: median of $runs runs; loops at N and 2N (exit N = $exit_n, ALU N = $alu_n iterations), figure = difference / N"
printf '%-32s %10s %10s %9s  %s\n' what QEMU-TCG actorvmm speed "(actorvmm/QEMU speed; target)"
row "exit-heavy (out 0x80), ns/iter" "$(ns "$exit_qemu")" "$(ns "$exit_avm")" "$(ratio "$exit_qemu" "$exit_avm")" 1x 1
row "ALU loop, M instr/s" "$(mips "$alu_qemu")" "$(mips "$alu_avm")" "$(ratio "$alu_qemu" "$alu_avm")" 0.5x 0.5
row "tiny guest start to exit, s" "$tiny_qemu" "$tiny_avm" "$(ratio "$tiny_qemu" "$tiny_avm")"
if [[ "${SKIP_LINUX:-0}" != 1 ]]; then
  echo "Linux: $(basename "$vmlinuz"), ${linux_mem_mib} MiB, 1 vCPU, params \"$platform_params panic=-1 $linux_params\" on both (QEMU: -M pc, its default CPU), median of $linux_runs"
  row "Linux to init, s" "$linux_init_qemu" "$linux_init_avm" "$(ratio "$linux_init_qemu" "$linux_init_avm")" "0.33x (time <= 3x)" 0.3333
  row "Linux to exit (reboot), s" "$linux_exit_qemu" "$linux_exit_avm" "$(ratio "$linux_exit_qemu" "$linux_exit_avm")"
  awk -v q="$linux_init_qemu" -v a="$linux_init_avm" 'BEGIN { printf "Linux to init: actorvmm takes %.1fx QEMU TCG'"'"'s time (target <= 3x)\n", a / q }'
fi
