#!/usr/bin/env bash
# The whole test suite: README's second command, and what .ci/run calls.
# Builds once, then runs the suite twice: in parallel (plain `swift test`, what
# most people and editors run) and serially (`--no-parallel`). Both must pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-libev.sh
scripts/ensure-http-parser.sh
scripts/ensure-openssl.sh  # GreenTLS: libssl-dev, and openssl + curl for its tests
# GreenAMQP: a RabbitMQ broker on 127.0.0.1:5672; stopped at the end if this run started it.
scripts/ensure-rabbitmq.sh
trap 'scripts/ensure-rabbitmq.sh --stop' EXIT
# The chat-room tests open a thousand sockets at once.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
swift build --build-tests
echo "== swift test (parallel)"
swift test --skip-build
echo "== swift test --no-parallel"
swift test --skip-build --no-parallel
# Greenlets and actors across hubs under ThreadSanitizer (every stack switch is
# annotated for it; a report fails the run with TSan's exit code).
swift build --build-tests --sanitize=thread --scratch-path .build-tsan
# The async bridge (worker Tasks, Green.run, the hub executor) crosses threads
# too. scripts/tsan.supp says what is suppressed (Swift's runtime gives TSan no
# edge when a continuation is resumed from another thread) and why.
TSAN_OPTIONS="suppressions=$PWD/scripts/tsan.supp" \
    swift test --skip-build --sanitize=thread --scratch-path .build-tsan \
    --filter 'RuntimeTests|CrossHub|InjectionRuleTests|ActorRegressionTests|BridgeWorkerTests|AwaitAsyncTests|GreenRunTests|HubExecutorTests|StreamTests|AsyncActorTests|ThreadExitTests'
# The release build as deployed, with the Swift runtime linked statically: only
# there do switches skip the exclusivity swap when it would change nothing. A
# greenlet parked inside an exclusive access must still not trip another one.
echo "== release build, runtime linked statically"
swift build -c release --static-swift-stdlib --scratch-path .build-release --product GreenTestChild
out=$(.build-release/release/GreenTestChild access)
echo "$out"
[[ $out == *"finished without trap; exclusivity fast path on"* ]]
# GreenHTTP's web chat in real browsers (installs chromium and selenium when missing).
scripts/browser-test.sh
# The AsyncHTTPClient sample is a package of its own whose first build compiles
# BoringSSL (minutes on 2 cores): only when asked for (GREEN_SLOW=1), to keep CI short.
if [[ ${GREEN_SLOW:-} == 1 ]]; then
    scripts/sample-async-http.sh
fi
# The fuzz target for 60 s (about a minute more to build it cold), on CI or when asked.
if [[ ${CI:-} == true || ${FUZZ:-} == 1 ]]; then
    echo "== scripts/fuzz.sh 60"
    scripts/fuzz.sh 60
fi
# The suite under AddressSanitizer (its own scratch folder), on CI or when asked.
# Leak checking is off (Foundation and the Swift runtime keep process-lifetime
# allocations that LeakSanitizer reports).
if [[ ${CI:-} == true || ${ASAN:-} == 1 ]]; then
    echo "== swift test --sanitize=address"
    swift build --build-tests --sanitize=address --scratch-path .build-asan
    ASAN_OPTIONS="suppressions=$PWD/scripts/asan.supp:detect_leaks=0" \
        swift test --skip-build --sanitize=address --scratch-path .build-asan
fi
