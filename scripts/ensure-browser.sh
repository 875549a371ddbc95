#!/usr/bin/env bash
# Installs what the console's browser test drives, from Debian's packages,
# when missing: Chromium and its WebDriver server (chromedriver).
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
echo "Installing chromium and chromium-driver (Debian packages) ..." >&2
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null
$sudo apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null
