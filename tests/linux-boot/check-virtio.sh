#!/usr/bin/env bash
# Checks what build-initramfs.sh's /init reported about the virtio devices of a Linux boot (docs/linux-boot.md):
# the block, rng and console devices bound to their drivers (and, for TRANSPORT pci, seen as virtio-pci functions
# 1af4:1042/1043/1044 on the PCI bus), the disk read back with the SHA-256 it was created with, the marker /init
# wrote to the disk's last sector present in the image after the VM ended, 16 random bytes from /dev/hwrng, and the
# line written to /dev/hvc0 present in HVC_LOG. Lines may carry a prefix (the nested lane stamps them). Prints what it
# found; non-zero on any miss.
#   check-virtio.sh LOG IMAGE SHA256 HVC_LOG TRANSPORT(pci|mmio|any)
set -euo pipefail
log="$1"; image="$2"; sha="$3"; hvc_log="$4"; transport="$5"
marker() { grep -a -o "LINUX-$1 .*" "$log" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
fail=0
miss() { echo "check-virtio: $*"; fail=1; }
for pair in 0x0002:virtio_blk 0x0003:virtio_console 0x0004:virtio_rng; do
  grep -a -q "LINUX-VIRTIO .* device=${pair%%:*} driver=${pair##*:}" "$log" || miss "no virtio device ${pair%%:*} bound to ${pair##*:}"
done
if [[ "$transport" == pci ]]; then
  for id in 1af4:1042 1af4:1043 1af4:1044; do
    grep -a -q "LINUX-PCI .* 0x${id%%:*}:0x${id##*:} " "$log" || miss "PCI function $id not enumerated by the guest"
  done
fi
[[ "$(marker DISK-SHA256)" == "$sha" ]] || miss "disk SHA-256 '$(marker DISK-SHA256)', expected '$sha'"
written=$(marker BLOCK-WRITTEN)
if [[ -z "$written" ]]; then
  miss "the guest did not write its marker block"
else
  sectors=$(( $(stat -c %s "$image") / 512 ))
  last=$(dd if="$image" bs=512 skip=$((sectors - 1)) count=1 2>/dev/null | tr -d '\0')
  [[ "$last" == "$written" ]] || miss "the image's last sector holds '${last:0:60}', expected the guest's marker '$written'"
fi
rng=$(marker HWRNG | cut -d' ' -f1)
[[ "$rng" =~ ^[0-9a-f]{32}$ && "$rng" != 00000000000000000000000000000000 ]] || miss "hwrng gave '$rng', expected 16 random bytes"
grep -a -q "LINUX-HVC0 hello from the guest's hvc0" "$hvc_log" 2>/dev/null || miss "hvc0's line not in $hvc_log"
[[ $fail -eq 0 ]] && echo "check-virtio: blk/console/rng bound ($transport); disk SHA-256 matches; marker block durable; hwrng $rng; hvc0 line delivered"
exit $fail
