#!/usr/bin/env bash
# Installs the system tools the test suite drives: git, openssl (throwaway TLS certificates),
# Go 1.23 (bookworm-backports), ssh and sshd (git over ssh, against a server on loopback),
# podman for the image tests. The apt mirror is read from the machine's own sources.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

src=/etc/apt/sources.list.d/debian.sources
backports=/etc/apt/sources.list.d/gomirror-backports.sources
if [ ! -f "$backports" ]; then
  uri=$(awk '/^URIs:/ {print $2; exit}' "$src")
  signed=$(awk '/^Signed-By:/ {print $2; exit}' "$src")
  comps=$(awk '/^Components:/ {sub(/^Components: */, ""); print; exit}' "$src")
  if [ -z "$uri" ]; then
    echo "install-system: no URIs line in $src; cannot derive the apt mirror" >&2
    exit 1
  fi
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: %s\nSigned-By: %s\n' \
    "$uri" "$comps" "$signed" | $SUDO tee "$backports" >/dev/null
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends git ca-certificates openssl nginx-light podman runc busybox-static wrk \
  openssh-client openssh-server
$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports golang-1.23-go golang-1.23-src
/usr/lib/go-1.23/bin/go version
