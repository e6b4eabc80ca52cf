#!/usr/bin/env bash
# Runs a Python test with Debian's python3 and the built module on its path:
#   run_python.sh MNEMO_SO SCRIPT EVAL SERVE
set -euo pipefail
module_dir="$(cd "$(dirname "$1")" && pwd)"
script="$2"
shift 2
export PYTHONPATH="$module_dir:$(pwd)/tests/python"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 "$script" "$@"
