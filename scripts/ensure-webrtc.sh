#!/usr/bin/env bash
# Installs a real WebRTC stack (aiortc, pinned, from PyPI) into
# .tools/webrtc-venv, once: the WHIP and WHEP tests' clients and the
# media node's side of the offer/answer. Re-installs when the pins change.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/ensure-venv.sh" "$root/.tools/webrtc-venv" "$root/scripts/requirements-webrtc.txt" \
  "a WebRTC stack (aiortc)"
