#!/usr/bin/env bash
# Builds the busybox initramfs the Linux boot check runs (docs/linux-boot.md): static busybox and an /init that
# prints the markers run.sh and the nested lane look for, then reboots, which ends the VM.
# Given the unpacked kernel package (fetch-kernel.sh), it also carries that kernel's virtio modules (Debian builds
# them as modules) and /init exercises the virtio devices it finds: the PCI functions and virtio devices it sees, the
# disk's SHA-256 and read/write throughput, a marker written to the disk's last sector with fsync, 16 bytes from
# /dev/hwrng and a line to /dev/hvc0 (check-virtio.sh reads the results).
#   build-initramfs.sh OUTPUT.cpio.gz [KERNEL_ROOT]
set -euo pipefail
out="$1"
kroot="${2:-}"
busybox=/bin/busybox
[[ -x "$busybox" ]] && "$busybox" --list | grep -qx reboot \
  || { echo "build-initramfs: needs busybox-static (apt-get install busybox-static)" >&2; exit 1; }
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,proc,sys,dev,modules}
cp "$busybox" "$root/bin/busybox"
# Dependency order; virtio_mmio gets its devices from the kernel command line (insmod does not read it).
virtio_modules=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_mmio virtio_blk virtio_console rng-core virtio-rng)
if [[ -n "$kroot" ]]; then
  kver=$(ls "$kroot/lib/modules" | head -1)
  for m in "${virtio_modules[@]}"; do
    ko=$(find "$kroot/lib/modules/$kver/kernel" \( -name "$m.ko" -o -name "${m//_/-}.ko" -o -name "${m//-/_}.ko" \) | head -1)
    # rng-core is built in on some configurations: only what exists as a module is carried.
    [[ -n "$ko" ]] && cp "$ko" "$root/modules/$m.ko" && echo "$m" >> "$root/modules/order"
  done
fi
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# From here the console carries only /init's markers: a kernel message (drop_caches, a driver's probe) would otherwise
# land in the middle of one of them.
echo 1 > /proc/sys/kernel/printk
echo "LINUX-INIT up $(cut -d' ' -f1 /proc/uptime) s"
echo "LINUX-CPUS $(cat /sys/devices/system/cpu/online)"
echo "LINUX-MEMTOTAL $(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2) kB"
echo "LINUX-CLOCKSOURCE $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
if [ -f /modules/order ]; then
  for m in $(cat /modules/order); do
    params=""
    [ "$m" = virtio_mmio ] && params=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^virtio_mmio\.//p' | tr '\n' ' ')
    insmod /modules/$m.ko $params 2>/dev/null || echo "LINUX-WARN insmod $m failed"
  done
  # Probing is asynchronous for block devices: give a virtio disk a moment to appear.
  for i in 1 2 3 4 5 6 7 8 9 10; do
    grep -qs '^0x0002$' /sys/bus/virtio/devices/*/device && [ ! -b /dev/vda ] || break
    sleep 0.5
  done
  for d in /sys/bus/pci/devices/*; do
    [ -e "$d/vendor" ] && echo "LINUX-PCI ${d##*/} $(cat $d/vendor):$(cat $d/device) class=$(cat $d/class)"
  done
  for d in /sys/bus/virtio/devices/*; do
    [ -e "$d/device" ] && echo "LINUX-VIRTIO ${d##*/} device=$(cat $d/device) driver=$(basename "$(readlink $d/driver)")"
  done
  if [ -b /dev/vda ]; then
    sectors=$(cat /sys/block/vda/size)
    echo "LINUX-DISK-SECTORS $sectors"
    echo "LINUX-DISK-SHA256 $(sha256sum /dev/vda | cut -d' ' -f1)"
    echo 3 > /proc/sys/vm/drop_caches
    # busybox dd prints no timing: /proc/uptime (10 ms) around each run.
    t0=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/vda of=/dev/null bs=1M 2>/dev/null; t1=$(cut -d' ' -f1 /proc/uptime)
    echo "LINUX-DD-READ $((sectors * 512)) bytes in $(awk "BEGIN { print $t1 - $t0 }") s"
    t0=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/zero of=/dev/vda bs=1M count=8 conv=fsync 2>/dev/null; t1=$(cut -d' ' -f1 /proc/uptime)
    echo "LINUX-DD-WRITE $((8 << 20)) bytes in $(awk "BEGIN { print $t1 - $t0 }") s"
    marker="LINUX-BLOCK-$(cat /proc/sys/kernel/random/uuid)"
    printf '%s' "$marker" | dd of=/dev/vda bs=512 seek=$((sectors - 1)) conv=sync,fsync 2>/dev/null \
      && echo "LINUX-BLOCK-WRITTEN $marker"
  fi
  [ -c /dev/hwrng ] && echo "LINUX-HWRNG $(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n') from $(cat /sys/class/misc/hw_random/rng_current)"
  [ -c /dev/hvc0 ] && echo "LINUX-HVC0 hello from the guest's hvc0" > /dev/hvc0 && echo "LINUX-HVC0-WRITTEN"
fi
echo "LINUX-REBOOT"
reboot -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
