#!/usr/bin/env bash
# Benchmark: our kernel against stock evcxr_jupyter 0.22.0 (crates.io), in one run.
# Builds stock evcxr_jupyter into target/bench/evcxr-stock once (about 14 minutes on 2
# cores) and warms a stock evcxr build directory with polars once (about 8 minutes);
# each measured stock kernel starts from a fresh copy of that directory, the fastest
# stock evcxr can start. Installs both kernelspecs into a temporary JUPYTER_PATH and runs
# kernel.py. Our kernel uses the prelude template of `workbench kernel install`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${WORKBENCH_PYTHON:-.venv/bin/python}"
STOCK="${EVCXR_STOCK:-target/bench/evcxr-stock}"
# Every target, as `./x` builds: the same features, so nothing is built twice.
cargo build --locked --workspace --all-targets >&2
if [ ! -x "$STOCK/bin/evcxr_jupyter" ]; then
    # As its users build it: without our .cargo/config.toml's `-C prefer-dynamic`.
    cargo install evcxr_jupyter --version 0.22.0 --locked --root "$STOCK" \
        --config 'build.rustflags=[]' >&2
fi
STOCK="$(cd "$STOCK" && pwd)"
SPECS="$(mktemp -d)"
trap 'rm -rf "$SPECS"' EXIT
target/debug/workbench kernel install --prefix "$SPECS" >&2
# A trainer's single-user kernel (no governed session): what is measured is the kernel.
export WORKBENCH_SINGLE_USER=1
stock_spec() {
    mkdir -p "$SPECS/share/jupyter/kernels/evcxr-stock"
    cat > "$SPECS/share/jupyter/kernels/evcxr-stock/kernel.json" <<JSON
{"argv": ["$STOCK/bin/evcxr_jupyter", "--control_file", "{connection_file}"],
 "display_name": "stock evcxr", "language": "rust", "interrupt_mode": "message",
 "env": {"EVCXR_TMPDIR": "$1"}}
JSON
}
# Outside the repository: evcxr runs `cargo metadata` in its build directory, and one
# under our workspace's target/ would be taken for a stray member of it.
WARM="${EVCXR_WARM:-${TMPDIR:-/tmp}/workbench-bench-evcxr-warm}"
if [ ! -d "$WARM/target" ]; then
    mkdir -p "$WARM"
    stock_spec "$WARM"
    JUPYTER_PATH="$SPECS/share/jupyter" "$PY" docs/benchmarks/kernel.py --warm evcxr-stock
fi
rm -rf "$SPECS/stock-tmpdir"
cp -a "$WARM" "$SPECS/stock-tmpdir"
stock_spec "$SPECS/stock-tmpdir"
JUPYTER_PATH="$SPECS/share/jupyter" "$PY" docs/benchmarks/kernel.py workbench evcxr-stock
