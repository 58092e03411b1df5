#!/usr/bin/env bash
# Install the named Debian packages that are missing (one apt-get update, only when needed).
# Usage: scripts/os-packages.sh PACKAGE...   (checks by `dpkg -s`)
set -euo pipefail
missing=()
for package in "$@"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing OS packages: ${missing[*]}"
sudo_cmd=(); [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
if ! { "${sudo_cmd[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
         --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "could not install ${missing[*]} (is the OS package repository reachable?)" >&2
  exit 1
fi
