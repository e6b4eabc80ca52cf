#!/usr/bin/env bash
# Installs whichever Debian packages of the given lists are missing (one
# apt-get update, one apt-get install), or says how to when that needs root.
# A list is a file of package names, one per line, '#' comments allowed.
# Usage: third_party/install_debian_packages.sh LIST...
set -euo pipefail
if (($# == 0)); then
  echo "install_debian_packages: usage: $0 LIST..." >&2
  exit 2
fi
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$@")

# One dpkg-query for all of them: a ready machine pays a few milliseconds.
installed="$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${wanted[@]}" 2>/dev/null || true)"
missing=()
for pkg in "${wanted[@]}"; do
  grep -qE "^${pkg} ii" <<<"$installed" || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

echo "install_debian_packages: installing missing Debian packages: ${missing[*]}" >&2
if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo)
else
  echo "install_debian_packages: these packages are missing and installing them needs root:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  echo "install_debian_packages: run that (or run this as root), then try again." >&2
  exit 1
fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
