#!/usr/bin/env bash
# Host memory of `actorvmm run` whose guest prints without end into a stalled terminal (a pipe nobody reads):
# prints the RSS of the actorvmm process once a second. The guest polls LSR.THRE before each byte, as a driver does.
#
# Usage: bench/console-rss.sh [path/to/actorvmm.dll] [seconds] [backend]
#   defaults: src/ActorVmm.Host/bin/Release/net10.0/actorvmm.dll, 30, emulator
set -euo pipefail
dll=${1:-src/ActorVmm.Host/bin/Release/net10.0/actorvmm.dll}
seconds=${2:-30}
backend=${3:-emulator}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 16-bit flat binary: wait: in al,0x3FD; test al,0x20; jz wait; mov al,bl; out 0x3F8,al; inc bx; jmp start
printf '\xBA\xFD\x03\xEC\xA8\x20\x74\xFB\x88\xD8\xBA\xF8\x03\xEE\x43\xEB\xEF' > "$work/print-forever.bin"

# The reader end stays open (fd 3) but nothing reads it: writes block once the pipe is full.
mkfifo "$work/stalled"
exec 3<>"$work/stalled"
XDG_RUNTIME_DIR=$work dotnet "$dll" run --image "$work/print-forever.bin" --mem 1M --backend "$backend" >"$work/stalled" 2>"$work/stderr" &
pid=$!

for ((t = 1; t <= seconds; t++)); do
    sleep 1
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "actorvmm ended early:" >&2
        cat "$work/stderr" >&2
        exit 1
    fi
    echo "${t}s $(awk '/^VmRSS/ { printf "%d MiB", $2 / 1024 }' "/proc/$pid/status")"
done

# SIGTERM (a script's background job ignores SIGINT): the host stops the VM with its terminal still stalled.
stopping=$(date +%s.%N)
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
echo "stopped with exit code $status after $(echo "$(date +%s.%N) - $stopping" | bc) s"
exec 3<&-
