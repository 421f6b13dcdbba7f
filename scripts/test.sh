#!/usr/bin/env bash
# The whole test suite: README's second command, and what .ci/run calls.
# Builds once, then runs the suite twice: in parallel (plain `swift test`, what
# most people and editors run) and serially (`--no-parallel`). Both must pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-libev.sh
# The chat-room tests open a thousand sockets at once.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
swift build --build-tests
echo "== swift test (parallel)"
swift test --skip-build
echo "== swift test --no-parallel"
swift test --skip-build --no-parallel
# The fuzz target for 60 s (about a minute more to build it cold), on CI or when asked.
if [[ ${CI:-} == true || ${FUZZ:-} == 1 ]]; then
    echo "== scripts/fuzz.sh 60"
    scripts/fuzz.sh 60
fi
# The suite under AddressSanitizer (its own scratch folder), on CI or when asked.
# Leak checking is off: a thread that ends leaves its parked greenlets (and
# what they hold) behind until hubs kill them at thread exit (issue 14, item 1).
if [[ ${CI:-} == true || ${ASAN:-} == 1 ]]; then
    echo "== swift test --sanitize=address"
    swift build --build-tests --sanitize=address --scratch-path .build-asan
    ASAN_OPTIONS="suppressions=$PWD/scripts/asan.supp:detect_leaks=0" \
        swift test --skip-build --sanitize=address --scratch-path .build-asan
fi
