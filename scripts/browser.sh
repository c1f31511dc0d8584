#!/usr/bin/env bash
# Installs the browser the console's tests drive (tests/browser): Debian's chromium and its
# chromedriver, from the machine's own package source, when either is missing. The tests
# never download a browser at run time; CI runs this through `make test` on a fresh machine.
set -euo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "chromium and chromium-driver are missing and this user cannot install them:" \
    "install them (apt-get install chromium chromium-driver) or run as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq chromium chromium-driver >/dev/null
/usr/bin/chromium --version
