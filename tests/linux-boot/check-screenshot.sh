#!/usr/bin/env bash
# Checks a Linux guest's framebuffer screenshot (actorvmm run --vesa --screenshot-on-exit PNG, kernel parameters
# "console=tty0 console=ttyS0"): the PNG is not uniform and shows fbcon's text colour (VT colour 7, #AAAAAA) on black.
# Prints one line "SCREENSHOT PASS|FAIL <what was counted>"; exit 0 on PASS, 1 on FAIL, 2 when the checker is missing.
# The check is the lane program's (tests/ActorVmm.KvmLane, ConsoleScreenshotCheck), built here unless LANE_DLL names it.
#   check-screenshot.sh PNG
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: check-screenshot.sh PNG" >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
lane_dll="${LANE_DLL:-$repo/tests/ActorVmm.KvmLane/bin/Release/net10.0/ActorVmm.KvmLane.dll}"
if [[ -z "${LANE_DLL:-}" && -w "$repo" ]]; then
  dotnet build "$repo/tests/ActorVmm.KvmLane" -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
fi
[[ -f "$lane_dll" ]] || { echo "check-screenshot: lane program not built at $lane_dll" >&2; exit 2; }
exec "${DOTNET:-dotnet}" "$lane_dll" --check-screenshot "$1"
