#!/usr/bin/env bash
# Checks a Linux boot's console log for the markers the initramfs's /init prints (build-initramfs.sh): init ran,
# CPUS vCPUs online, MemTotal in range for MEM_MIB of RAM, CLOCKSOURCE as the clock source (default kvm-clock, what
# a KVM guest must pick; the emulator has no kvm-clock, tests/linux-boot/emulator.sh names what it expects there; several
# accepted names are separated by '|'), then the reboot. Lines may carry a prefix (the nested lane stamps them). Prints
# what it found; non-zero on any miss.
#   check-boot.sh LOG CPUS MEM_MIB [CLOCKSOURCE[|CLOCKSOURCE...]]
set -euo pipefail
log="$1"; cpus="$2"; mem_mib="$3"; expect_clock="${4:-kvm-clock}"
marker() { grep -a -o "LINUX-$1 .*" "$log" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
fail=0
expect_online=$([[ "$cpus" -gt 1 ]] && echo "0-$((cpus - 1))" || echo 0)
online=$(marker CPUS); memtotal=$(marker MEMTOTAL | cut -d' ' -f1); clock=$(marker CLOCKSOURCE)
grep -a -q "LINUX-INIT " "$log" || { echo "check-boot: init never ran"; fail=1; }
[[ "$online" == "$expect_online" ]] || { echo "check-boot: CPUs online '$online', expected '$expect_online'"; fail=1; }
# The kernel keeps part of RAM for itself: expect at least half of it, never more than all of it.
[[ -n "$memtotal" && "$memtotal" -ge $((mem_mib * 512)) && "$memtotal" -le $((mem_mib * 1024)) ]] \
  || { echo "check-boot: MemTotal '$memtotal' kB is not within $((mem_mib * 512))..$((mem_mib * 1024)) kB"; fail=1; }
[[ -n "$clock" && "|$expect_clock|" == *"|$clock|"* ]] || { echo "check-boot: clock source '$clock', expected $expect_clock"; fail=1; }
grep -a -q "LINUX-REBOOT" "$log" || { echo "check-boot: init did not reach its reboot"; fail=1; }
[[ $fail -eq 0 ]] && echo "check-boot: init ran; CPUs online $online; MemTotal $memtotal kB; clock source $clock; rebooted"
exit $fail
