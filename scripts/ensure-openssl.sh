#!/usr/bin/env bash
# Installs what GreenTLS and its tests need when missing: Debian's libssl-dev
# (OpenSSL 3 headers and libraries), the openssl command (the tests make their
# certificates with it and talk to s_client/s_server), curl (a test peer) and
# the system's CA store (TLSConfiguration.client() trusts it by default).
set -euo pipefail
missing=()
[ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
[ -d /etc/ssl/certs ] || missing+=(ca-certificates)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing ${missing[*]} with apt-get (GreenTLS)" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
