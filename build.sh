#!/usr/bin/env bash
# One entry point for people and CI:
#   ./build.sh run [actorvmm args...]   boot the built-in demo guest on the best backend available
#   ./build.sh test                     build in Release and run every test
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

command -v dotnet >/dev/null || { echo "build.sh: the .NET 10 SDK (dotnet) is required: https://learn.microsoft.com/dotnet/core/install/linux" >&2; exit 2; }

cmd=${1:-run}
shift || true
case "$cmd" in
  run)
    dotnet build src/ActorVmm.Host -c Release -nologo -v quiet -clp:ErrorsOnly >&2
    exec dotnet src/ActorVmm.Host/bin/Release/net10.0/actorvmm.dll run "$@"
    ;;
  test)
    dotnet build ActorVmm.sln -c Release -nologo -clp:ErrorsOnly
    dotnet test ActorVmm.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@"
    ;;
  *)
    echo "usage: ./build.sh run [args...] | ./build.sh test" >&2
    exit 2
    ;;
esac
