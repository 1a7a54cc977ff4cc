#!/usr/bin/env bash
# Boots Debian's kernel with a busybox initramfs under `actorvmm run` on this machine's /dev/kvm (docs/linux-boot.md)
# and checks the markers /init prints and actorvmm's exit code (0: the guest rebooted through the i8042 reset line).
# Where /dev/kvm is missing or slow, tests/nested-kvm/run.sh runs the same check inside a nested guest (CI does).
#   run.sh [CPUS] [MEM]        defaults: 2 256M
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cpus="${1:-2}"; mem="${2:-256M}"
[[ "$mem" =~ ^[0-9]+M$ ]] || { echo "linux-boot: give MEM in MiB, e.g. 256M" >&2; exit 2; }
cache="$repo/tests/nested-kvm/.cache"
work="$cache/linux-boot"
rm -rf "$work" && mkdir -p "$work"
kroot=$("$here/fetch-kernel.sh" "$cache")
vmlinuz=$(ls "$kroot"/boot/vmlinuz-* | head -1)
"$here/build-initramfs.sh" "$work/initrd.gz"
dotnet build "$repo/src/ActorVmm.Host" -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
avm="$repo/src/ActorVmm.Host/bin/Release/net10.0/actorvmm.dll"
start=$(date +%s%N)
set +e
timeout "${LINUX_BOOT_TIMEOUT:-600}" dotnet "$avm" run -k "$vmlinuz" -i "$work/initrd.gz" -c "$cpus" -m "$mem" \
  --backend kvm --console none --console-log "$work/console.log" -p "panic=-1" 2> "$work/stderr.log"
rc=$?
set -e
echo "linux-boot: actorvmm exited $rc after $(( ($(date +%s%N) - start) / 1000000 )) ms"
cat "$work/stderr.log"
"$here/check-boot.sh" "$work/console.log" "$cpus" "${mem%M}" || { tail -n 30 "$work/console.log"; exit 1; }
[[ $rc -eq 0 ]] || { echo "linux-boot: FAIL: actorvmm exit code $rc, expected 0 (a guest reboot)"; exit 1; }
echo "linux-boot: OK"
