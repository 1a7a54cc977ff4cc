#!/usr/bin/env bash
# The Linux checks of docs/linux-boot.md on the emulator backend, no virtualization needed (issue 18; docs/emulator.md):
# boots Debian's kernel with the busybox initramfs (build-initramfs.sh, with the kernel's virtio modules) under
# `actorvmm run --backend emulator --experimental-emulator-linux` with a virtio disk of known content, a virtio-rng and
# a virtio console, then runs the same checkers as the nested-KVM lane on what it printed: check-boot.sh (init, CPUs
# online, MemTotal, clock source, the reboot) and check-virtio.sh (devices bound, the disk's SHA-256, the marker block
# durable in the image after the VM ended, hwrng, the hvc0 line), and expects exit code 0 (the guest's reboot). On the
# host it also checks that the disk image is unchanged outside what /init wrote (its dd at the start, its marker in the
# last sector): no stray write reached the image.
#   emulator.sh
# What the emulator supports today is in the variables below; the environment overrides them:
#   EMU_LINUX_CPUS          vCPUs (2: the APs start by INIT/SIPI through the emulator's local APICs)
#   EMU_LINUX_PARAMS        kernel parameters after the platform's (none needed: local APIC timer and IOAPIC modelled)
#   EMU_LINUX_CLOCKSOURCE   the clock sources the kernel may pick, '|'-separated (the emulator offers kvm-clock on its
#                           virtual clock, as KVM does)
#   EMU_LINUX_TIMEOUT       seconds before the VM is stopped as hung
# Installs busybox-static and cpio if missing. The kernel package is fetched into tests/nested-kvm/.cache (gitignored,
# shared with run.sh and the nested lane), never installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cpus="${EMU_LINUX_CPUS:-2}"
params="${EMU_LINUX_PARAMS:-}"
clocksource="${EMU_LINUX_CLOCKSOURCE:-kvm-clock}"
timeout_s="${EMU_LINUX_TIMEOUT:-900}"
mem_mib=256
disk_mib=16
cache="$repo/tests/nested-kvm/.cache"
work="$cache/linux-emulator"
start=$(date +%s)
rm -rf "$work" && mkdir -p "$work"

need=()
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
if ((${#need[@]})); then
  echo "linux-emulator: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi

kroot=$("$here/fetch-kernel.sh" "$cache")
vmlinuz=$(ls "$kroot"/boot/vmlinuz-* | head -1)
"$here/build-initramfs.sh" "$work/initrd.gz" "$kroot"
# The disk: random bytes whose SHA-256 the guest must read back; /init then writes a marker to its last sector.
head -c $((disk_mib << 20)) /dev/urandom > "$work/disk.img"
disk_sha=$(sha256sum "$work/disk.img" | cut -d' ' -f1)
cp "$work/disk.img" "$work/disk.orig.img"
dotnet build "$repo/src/ActorVmm.Host" -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
avm="$repo/src/ActorVmm.Host/bin/Release/net10.0/actorvmm.dll"

echo "linux-emulator: $(basename "$vmlinuz") -c $cpus -m ${mem_mib}M -p \"$params\", a ${disk_mib} MiB virtio disk, --rng, a virtio console"
boot_start=$(date +%s)
set +e
timeout "$timeout_s" dotnet "$avm" run -k "$vmlinuz" -i "$work/initrd.gz" -c "$cpus" -m "${mem_mib}M" \
  --backend emulator --experimental-emulator-linux -p "panic=-1 $params" \
  -d "$work/disk.img" --rng --virtio-console-log "$work/hvc.log" \
  --console none --console-log "$work/console.log" 2> "$work/stderr.log"
rc=$?
set -e
echo "linux-emulator: actorvmm exited $rc after $(( $(date +%s) - boot_start )) s"
cat "$work/stderr.log"
fail=0
"$here/check-boot.sh" "$work/console.log" "$cpus" "$mem_mib" "$clocksource" || fail=1
grep -a -E '^LINUX-(PCI|VIRTIO|DISK|DD|HWRNG|WARN)' "$work/console.log" | tr -d '\r' | sed 's/^/  /' || true
"$here/check-virtio.sh" "$work/console.log" "$work/disk.img" "$disk_sha" "$work/hvc.log" pci || fail=1
# What /init wrote: LINUX-DD-WRITE's byte count from the start, then the last sector. Everything between must be as it was.
dd_bytes=$(grep -a -o 'LINUX-DD-WRITE [0-9]*' "$work/console.log" | head -1 | cut -d' ' -f2)
if [[ -z "$dd_bytes" ]]; then
  echo "linux-emulator: /init reported no dd write, so the untouched part of the disk is unknown"; fail=1
else
  between=$(( (disk_mib << 20) - 512 - dd_bytes ))
  untouched() { tail -c +$((dd_bytes + 1)) "$1" | head -c "$between" | sha256sum | cut -d' ' -f1; }
  if [[ "$(untouched "$work/disk.img")" == "$(untouched "$work/disk.orig.img")" ]]; then
    echo "linux-emulator: the disk's $between bytes that /init did not write are unchanged"
  else
    echo "linux-emulator: the disk's $between bytes from offset $dd_bytes, which /init did not write, changed"; fail=1
  fi
fi
[[ $rc -eq 0 ]] || { echo "linux-emulator: actorvmm exit code $rc, expected 0 (the guest's reboot)"; fail=1; }
if ((fail)); then
  echo "linux-emulator: FAIL after $(( $(date +%s) - start )) s; the console's last lines ($work/console.log):"
  tail -n 40 "$work/console.log" | tr -d '\r'
  exit 1
fi
echo "linux-emulator: OK in $(( $(date +%s) - start )) s"
