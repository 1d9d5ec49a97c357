#!/usr/bin/env bash
# Install the engine into .venv and run the demo on the embedded runtime.
# Usage: bash ops/demo.sh [treasury demo options, e.g. --payments 20000]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/treasury demo "$@"
