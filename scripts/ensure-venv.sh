#!/usr/bin/env bash
# ensure-venv.sh VENV REQUIREMENTS WHAT: a virtualenv with the pinned
# requirements, made once and made again when the pins change.
set -euo pipefail
venv="$1" requirements="$2" what="$3"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "Installing $what into ${venv#"$PWD"/} ..." >&2
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
echo "$want" > "$stamp"
