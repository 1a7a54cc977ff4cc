#!/usr/bin/env bash
# Builds the busybox initramfs the Linux boot check runs (docs/linux-boot.md): static busybox and an /init that
# prints the markers run.sh and the nested lane look for, then reboots, which ends the VM.
#   build-initramfs.sh OUTPUT.cpio.gz
set -euo pipefail
out="$1"
busybox=/bin/busybox
[[ -x "$busybox" ]] && "$busybox" --list | grep -qx reboot \
  || { echo "build-initramfs: needs busybox-static (apt-get install busybox-static)" >&2; exit 1; }
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,proc,sys,dev}
cp "$busybox" "$root/bin/busybox"
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
echo "LINUX-INIT up $(/bin/busybox cut -d' ' -f1 /proc/uptime) s"
echo "LINUX-CPUS $(/bin/busybox cat /sys/devices/system/cpu/online)"
echo "LINUX-MEMTOTAL $(/bin/busybox grep MemTotal /proc/meminfo | /bin/busybox tr -s ' ' | /bin/busybox cut -d' ' -f2) kB"
echo "LINUX-CLOCKSOURCE $(/bin/busybox cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo "LINUX-REBOOT"
/bin/busybox reboot -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
