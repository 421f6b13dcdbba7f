#!/usr/bin/env bash
# Installs Debian's libhttp-parser-dev when its header is missing (GreenHTTP parses with it).
set -euo pipefail
if [ -f /usr/include/http_parser.h ]; then exit 0; fi
echo "libhttp-parser-dev is missing: installing it with apt-get" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libhttp-parser-dev
