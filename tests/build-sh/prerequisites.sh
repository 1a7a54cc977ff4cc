#!/usr/bin/env bash
# Checks `./build.sh test`'s prerequisite step without touching this machine: each case runs build.sh
# with a PATH of fakes (ldconfig, id, apt-get, dotnet, gcc, dtc) that simulate a machine state and record
# what build.sh asked of them. Non-zero when a case does not behave as expected.
#   tests/build-sh/prerequisites.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# fake NAME BODY: a fake command in the case's bin directory.
fake() { printf '#!/usr/bin/env bash\n%s\n' "$2" >"$bin/$1" && chmod +x "$bin/$1"; }

# setup UID LIBS: a bin directory with the tools build.sh uses, a uid, and what `ldconfig -p` lists.
# The fakes append their calls to $work/calls; apt-get "installs" by making ldconfig list libunicorn.
setup() {
  bin="$work/bin-$RANDOM"
  mkdir -p "$bin"
  : >"$work/calls"
  for tool in bash awk mktemp cat rm dirname; do ln -s "$(command -v "$tool")" "$bin/$tool"; done
  echo "$2" >"$work/ldcache"
  fake id "echo $1"
  fake ldconfig "cat '$work/ldcache'"
  fake gcc "exit 0"
  fake dtc "exit 0"
  fake dotnet "echo \"dotnet \$*\" >>'$work/calls'"
  fake apt-get "echo \"apt-get \$*\" >>'$work/calls'; [[ \$* == *install* ]] && echo '	libunicorn.so.2 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libunicorn.so.2' >>'$work/ldcache'; exit 0"
}

run_case() { # run_case NAME EXPECTED_STATUS: runs ./build.sh test under the fakes
  local status=0
  PATH="$bin" "$repo/build.sh" test >"$work/out" 2>&1 || status=$?
  if [[ $status != "$2" ]]; then
    echo "FAIL $1: exit $status, expected $2"; sed 's/^/  | /' "$work/out"; failures=$((failures + 1)); return 1
  fi
}

expect_calls() { # expect_calls NAME PATTERN: the recorded calls match the extended regex
  if ! grep -Eq "$2" "$work/calls"; then
    echo "FAIL $1: no call matching '$2'"; sed 's/^/  | /' "$work/calls"; failures=$((failures + 1)); return 1
  fi
}

refuse_calls() { # refuse_calls NAME PATTERN: no recorded call matches
  if grep -Eq "$2" "$work/calls"; then
    echo "FAIL $1: unexpected call matching '$2'"; sed 's/^/  | /' "$work/calls"; failures=$((failures + 1)); return 1
  fi
}

expect_output() { # expect_output NAME PATTERN: build.sh's output matches the extended regex
  if ! grep -Eq "$2" "$work/out"; then
    echo "FAIL $1: output does not match '$2'"; sed 's/^/  | /' "$work/out"; failures=$((failures + 1)); return 1
  fi
}

unicorn='	libunicorn.so.2 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libunicorn.so.2'

# 1. Everything present: no install, builds and tests.
setup 0 "$unicorn"
run_case "all present" 0 && refuse_calls "all present" '^apt-get' && expect_calls "all present" '^dotnet test' && echo "ok   all present: no apt-get, build and test ran"

# 2. Root without libunicorn2: installs only libunicorn2, then builds.
setup 0 "	libc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6"
run_case "root, no unicorn" 0 && expect_calls "root, no unicorn" '^apt-get install .*-qq .*libunicorn2$' \
  && refuse_calls "root, no unicorn" '^apt-get install .*gcc' && expect_calls "root, no unicorn" '^dotnet build' \
  && echo "ok   root without libunicorn2: apt-get install -qq libunicorn2 only, then build and test"

# 3. Not root, without libunicorn2 and gcc: one command printed, nothing built, exit 3.
setup 1000 ""
rm "$bin/gcc"
run_case "user, missing" 3 && refuse_calls "user, missing" '^(apt-get|dotnet)' \
  && expect_output "user, missing" 'sudo apt-get update && sudo apt-get install -y --no-install-recommends gcc libunicorn2$' \
  && echo "ok   user without gcc and libunicorn2: printed the sudo apt-get command, built nothing, exit 3"

# 4. Root, the install fails (no such package): apt's output shown, nothing built, exit 3.
setup 0 ""
fake apt-get "echo \"apt-get \$*\" >>'$work/calls'; echo 'E: Unable to locate package libunicorn2' >&2; exit 100"
run_case "root, install fails" 3 && refuse_calls "root, install fails" '^dotnet' && expect_output "root, install fails" 'Unable to locate package' \
  && expect_calls "root, install fails" '^apt-get update' \
  && echo "ok   root, apt-get fails: retried after apt-get update, showed apt's error, built nothing, exit 3"

# 5. Root without dtc: installs only device-tree-compiler (the fake install puts a dtc on the PATH), then builds.
setup 0 "$unicorn"
rm "$bin/dtc"
fake apt-get "echo \"apt-get \$*\" >>'$work/calls'; [[ \$* == *device-tree-compiler* ]] && printf '#!/usr/bin/env bash\\nexit 0\\n' >'$bin/dtc' && chmod +x '$bin/dtc'; exit 0"
run_case "root, no dtc" 0 && expect_calls "root, no dtc" '^apt-get install .*-qq .*device-tree-compiler$' \
  && refuse_calls "root, no dtc" '^apt-get install .*(gcc|libunicorn2)' && expect_calls "root, no dtc" '^dotnet build' \
  && echo "ok   root without dtc: apt-get install -qq device-tree-compiler only, then build and test"

if ((failures)); then echo "build.sh prerequisites: $failures case(s) failed"; exit 1; fi
echo "build.sh prerequisites: all cases passed"
