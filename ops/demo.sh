#!/usr/bin/env bash
# Install the engine (with its bundled PostgreSQL) into .venv and run the demo: the embedded runtime
# streaming a generated region in real time, the console at http://127.0.0.1:6066/console/.
# Usage: bash ops/demo.sh [treasury demo options, e.g. --payments 20000]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e '.[bundled]'
exec .venv/bin/treasury demo "$@"
