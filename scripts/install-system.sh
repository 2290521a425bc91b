#!/usr/bin/env bash
# Debian packages the app itself needs (not only the tests): Pango/HarfBuzz for WeasyPrint's PDF reports and the
# Nanum fonts that the PDFs embed and the charts (matplotlib) draw Korean with. Installs only what is missing;
# needs root and apt-get. The Dockerfile installs the same list.
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-nanum)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "PDF reports need: ${missing[*]} (apt-get install as root); without them the PDF links answer 503" >&2
  exit 0
fi
echo "installing ${missing[*]} for the PDF reports and charts"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
