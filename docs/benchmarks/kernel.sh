#!/usr/bin/env bash
# Benchmark: our kernel against stock evcxr_jupyter 0.22.0 (crates.io), in one run.
# Builds stock evcxr_jupyter into target/bench/evcxr-stock once (about 14 minutes on 2
# cores), installs both kernelspecs into a temporary JUPYTER_PATH and runs kernel.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${WORKBENCH_PYTHON:-.venv/bin/python}"
STOCK="${EVCXR_STOCK:-target/bench/evcxr-stock}"
cargo build --locked --workspace --bins >&2
if [ ! -x "$STOCK/bin/evcxr_jupyter" ]; then
    cargo install evcxr_jupyter --version 0.22.0 --locked --root "$STOCK" >&2
fi
SPECS="$(mktemp -d)"
trap 'rm -rf "$SPECS"' EXIT
target/debug/workbench kernel install --prefix "$SPECS" >&2
mkdir -p "$SPECS/share/jupyter/kernels/evcxr-stock"
cat > "$SPECS/share/jupyter/kernels/evcxr-stock/kernel.json" <<JSON
{"argv": ["$(cd "$STOCK" && pwd)/bin/evcxr_jupyter", "--control_file", "{connection_file}"],
 "display_name": "stock evcxr", "language": "rust", "interrupt_mode": "message"}
JSON
JUPYTER_PATH="$SPECS/share/jupyter" "$PY" docs/benchmarks/kernel.py workbench evcxr-stock
