#!/usr/bin/env bash
# The WebChat sample in real browsers (issue 11): Debian's chromium and
# chromium-driver, driven by selenium (PyPI); both installed when missing.
# Screenshots go to $BROWSER_TEST_OUTPUT (default .build/browser-test).
# Prints `browser: N passed, M failed`; exits non-zero on a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "chromium or chromium-driver is missing: installing them with apt-get" >&2
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if ! "$python" -c 'import selenium' 2>/dev/null; then
    echo "selenium is missing: installing it with pip" >&2
    "$python" -m pip install -q selenium
fi
swift build --product WebChat >&2
bin=$(swift build --show-bin-path)
output=${BROWSER_TEST_OUTPUT:-$PWD/.build/browser-test}
exec "$python" Tests/Browser/webchat_test.py --binary "$bin/WebChat" --output "$output"
