#!/usr/bin/env bash
# Installs Debian's libev-dev when its header is missing (Green links libev).
set -euo pipefail
if [ -f /usr/include/ev.h ]; then exit 0; fi
echo "libev-dev is missing: installing it with apt-get" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libev-dev
