#!/usr/bin/env bash
# Debian's Chromium and a Hangul font for the browser tests (Playwright drives /usr/bin/chromium; it cannot
# download a browser of its own here). Installs only what is missing; needs root and apt-get.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s fonts-nanum >/dev/null 2>&1 || missing+=(fonts-nanum)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "browser tests need: ${missing[*]} (apt-get install as root); they will skip, or fail under CI" >&2
  exit 0
fi
echo "installing ${missing[*]} for the browser tests"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
