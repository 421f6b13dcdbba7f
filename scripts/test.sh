#!/usr/bin/env bash
# The whole test suite: README's second command, and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-libev.sh
scripts/ensure-http-parser.sh
scripts/ensure-openssl.sh  # GreenTLS: libssl-dev, and openssl + curl for its tests
# The chat-room tests open a thousand sockets at once.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
swift build --build-tests
# Serial: several tests measure process-wide figures (resident memory), and a
# loaded 2-core machine is the target; every green test owns a thread anyway.
swift test --skip-build --no-parallel
# Greenlets and actors across hubs under ThreadSanitizer (every stack switch is
# annotated for it; a report fails the run with TSan's exit code).
swift build --build-tests --sanitize=thread --scratch-path .build-tsan
swift test --skip-build --sanitize=thread --scratch-path .build-tsan \
    --filter 'RuntimeTests|CrossHub|InjectionRuleTests|ActorRegressionTests'
# GreenHTTP's web chat in real browsers (installs chromium and selenium when missing).
scripts/browser-test.sh
# The AsyncHTTPClient sample is a package of its own that takes minutes to build the
# first time: only in CI or when asked for (GREEN_SLOW=1).
if [[ ${GREEN_SLOW:-} == 1 || ${CI:-} == true ]]; then
    scripts/sample-async-http.sh
fi
