#!/usr/bin/env bash
# Installs what the agent's end-to-end test runs against, from Debian's
# packages, when missing: nginx with the RTMP module, and ffmpeg.
set -euo pipefail
module=/usr/lib/nginx/modules/ngx_rtmp_module.so
if command -v nginx >/dev/null && [ -f "$module" ] && command -v ffmpeg >/dev/null; then
  exit 0
fi
echo "Installing nginx, libnginx-mod-rtmp and ffmpeg (Debian packages) ..." >&2
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null
$sudo apt-get install -y -q --no-install-recommends nginx libnginx-mod-rtmp ffmpeg >/dev/null
# The package starts a system nginx on port 80: the test runs its own.
$sudo systemctl disable --now nginx >/dev/null 2>&1 || $sudo service nginx stop >/dev/null 2>&1 || true
