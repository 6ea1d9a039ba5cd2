# Sourced by ci/install.sh and ci/lock.sh. uv does not read pip's configuration, so this
# machine's indexes, wheel folders and constraints (`pip config list`) are passed on to it as
# arguments: pip_index_args [gpu] sets index_args=(...) (pip takes the same flags).
# For gpu, without the wheel folders (find-links): they hold this machine's CPU build of torch
# (2.13.0+cpu), which the pin `torch==2.13.0` also matches (a local version label matches an
# `==` pin without one) and, as the higher version, would win over PyPI's CUDA build.
pip_index_args() {
  index_args=()
  local key value item
  while IFS='=' read -r key value; do
    value="${value#\'}"; value="${value%\'}"
    case "${key##*.}" in
      index-url) index_args+=(--index-url "$value") ;;
      extra-index-url) for item in $value; do index_args+=(--extra-index-url "$item"); done ;;
      find-links) if [ "${1:-}" != gpu ]; then for item in $value; do index_args+=(--find-links "$item"); done; fi ;;
      constraint) for item in $value; do index_args+=(--constraint "$item"); done ;;
    esac
  done < <("${PYTHON:-python3}" -m pip config list 2>/dev/null)
}
