#!/usr/bin/env bash
# The GPU check on a lent GPU machine, from a fresh checkout (see the docstring
# of benchmarks/gpu_check.py): installs the project with CI's pinned versions,
# runs the check on the three backends (about 5-10 minutes) and prints the
# report. Extra arguments go to gpu_check.py (e.g. --backends jax).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -e ".[test]" -c .ci/constraints.txt
status=0
python benchmarks/gpu_check.py --require-gpu --out reports/gpu_check "$@" || status=$?
cat reports/gpu_check/gpu_check_report.md
exit "$status"
