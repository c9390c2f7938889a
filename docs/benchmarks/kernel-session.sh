#!/usr/bin/env bash
# Benchmark: what the enclave's confinement costs the kernel. The same kernel and the same
# cells (docs/benchmarks/kernel.py), in one run: first as a trainer's single-user kernel
# (Landlock and the seccomp allow-list only, tcp), then serving a governed session of a
# synthetic programme (800 cases) through the governance service: every cell asked and
# audited, the session's view, ZeroMQ over ipc and a network namespace of its own.
# Prints one JSON line per mode and the session/single-user ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${WORKBENCH_PYTHON:-.venv/bin/python}"
cargo build --locked --workspace --all-targets >&2
WB=target/debug/workbench
DIR="$(mktemp -d)"
trap 'kill "${SERVICE:-}" 2>/dev/null || true; rm -rf "$DIR"' EXIT
"$WB" kernel install --prefix "$DIR/spec" >&2
"$WB" synth --cases 800 --seed 13 --raw-cases 0 --out "$DIR" >&2
"$WB" governance init --lake "$DIR/lake" --store "$DIR/store" >&2
echo "bench-password-long" | "$WB" governance user add --store "$DIR/store" --user ana \
    --role analyst --institution "Kyoto University Hospital" >&2
"$WB" governance project add --store "$DIR/store" --project kyoto --forum academic \
    --purpose academic-research --institution "Kyoto University Hospital" \
    --cancer-types all --tier detailed --expires 2099-12-31 >&2
"$WB" governance project member --store "$DIR/store" --project kyoto --user ana >&2
SESSION="$("$WB" session start --store "$DIR/store" --lake "$DIR/lake" --user ana \
    --project kyoto --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["session"])')"
"$WB" governance serve --store "$DIR/store" --socket "$DIR/governor.sock" 2>/dev/null &
SERVICE=$!
while [ ! -S "$DIR/governor.sock" ]; do sleep 0.1; done
export JUPYTER_PATH="$DIR/spec/share/jupyter"
single="$(WORKBENCH_SINGLE_USER=1 "$PY" docs/benchmarks/kernel.py workbench)"
session="$(WORKBENCH_GOVERNOR="$DIR/governor.sock" WORKBENCH_SESSION="$SESSION" \
    "$PY" docs/benchmarks/kernel.py workbench)"
echo "single-user: $single"
echo "session:     $session"
"$PY" - "$single" "$session" <<'PY'
import json, sys
a, b = (json.loads(x) for x in sys.argv[1:3])
for key in ["start_to_first_result_s", "start_to_first_polars_result_s", "trivial_p50_s",
            "polars_p50_s"]:
    print(f"ratio session/single-user {key}: {b[key] / a[key]:.2f}")
PY
