"""Kernel latency benchmark: our kernel against stock evcxr_jupyter, same machine, one run.

Usage: python docs/benchmarks/kernel.py KERNEL_NAME [KERNEL_NAME ...]
Each KERNEL_NAME must be a kernelspec on JUPYTER_PATH (docs/benchmarks/kernel.sh installs
`workbench` and `evcxr-stock`). For each kernel it reports: start to kernel_info reply,
start to the first result of a trivial cell, start to the first result of a polars cell,
p50/p95 of 20 trivial cells and of 20 small polars query cells, and the kernel process's
resident memory before and after 100 trivial cells and after 100 polars cells.

Our kernel has polars through its prelude; stock evcxr gets it with `:dep polars` (the same
version and features), from a build directory warmed beforehand (kernel.sh copies it), which
is the fastest stock evcxr can be.
"""

import json
import os
import statistics
import sys
import tempfile
import time

from jupyter_client.manager import KernelManager, start_new_kernel

POLARS_DEP = (
    ':dep polars = { version = "=0.55.2", default-features = false, features = '
    '["fmt", "parquet", "lazy", "dtype-date", "temporal", "strings"] }\n'
    "use polars::prelude::*;"
)
POLARS_CELL = (
    'let df = df!("a" => [1i64, 2, 3, 4], "b" => [0.5f64, 1.5, 2.5, 3.5])?;\n'
    'df.lazy().filter(col("a").gt(lit(1))).select([col("b").sum()]).collect()?'
)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run(kc, code):
    started = time.monotonic()
    reply = kc.execute_interactive(code, timeout=1200, output_hook=lambda msg: None)
    assert reply["content"]["status"] == "ok", reply["content"]
    return time.monotonic() - started


def pct(values, q):
    values = sorted(values)
    return round(values[int(q * (len(values) - 1))], 3)


def start(name):
    """Starts kernel `name` as its front end would: over ZeroMQ ipc for a kernel of a
    governed session (WORKBENCH_GOVERNOR set: the kernel's network namespace), else tcp."""
    if not os.environ.get("WORKBENCH_GOVERNOR"):
        return start_new_kernel(kernel_name=name, startup_timeout=1200)
    sockets = os.path.join(tempfile.mkdtemp(prefix="wb-bench-ipc-"), "kernel")
    km = KernelManager(kernel_name=name, transport="ipc", ip=sockets)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=1200)
    return km, kc


def bench(name):
    setup = "" if name == "workbench" else POLARS_DEP
    started = time.monotonic()
    km, kc = start(name)
    ready = time.monotonic() - started
    run(kc, "1 + 1")
    first = time.monotonic() - started
    if setup:
        run(kc, setup)
    run(kc, POLARS_CELL)
    first_polars = time.monotonic() - started
    trivial = [run(kc, "1 + 1") for _ in range(20)]
    polars = [run(kc, POLARS_CELL) for _ in range(20)]
    pid = km.provisioner.process.pid
    before = rss_kib(pid)
    run(kc, "let mut n = 0u64;")
    for _ in range(100):
        run(kc, "n += 1;")
    after_trivial = rss_kib(pid)
    for _ in range(100):
        run(kc, POLARS_CELL)
    after_polars = rss_kib(pid)
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return {
        "kernel": name,
        "start_to_kernel_info_s": round(ready, 2),
        "start_to_first_result_s": round(first, 2),
        "start_to_first_polars_result_s": round(first_polars, 2),
        "trivial_p50_s": pct(trivial, 0.5),
        "trivial_p95_s": pct(trivial, 0.95),
        "polars_p50_s": pct(polars, 0.5),
        "polars_p95_s": pct(polars, 0.95),
        "rss_before_mib": round(before / 1024, 1),
        "rss_after_100_trivial_mib": round(after_trivial / 1024, 1),
        "rss_after_100_polars_mib": round(after_polars / 1024, 1),
    }


def warm(name):
    """Runs the polars set-up once so that the kernel's build directory holds polars."""
    km, kc = start_new_kernel(kernel_name=name, startup_timeout=1200)
    run(kc, POLARS_DEP)
    run(kc, POLARS_CELL)
    kc.stop_channels()
    km.shutdown_kernel(now=True)


if __name__ == "__main__":
    if sys.argv[1] == "--warm":
        warm(sys.argv[2])
        sys.exit(0)
    results = [bench(name) for name in sys.argv[1:]]
    for result in results:
        print(json.dumps(result))
    if len(results) == 2:
        a, b = results
        for key in ["start_to_first_result_s", "start_to_first_polars_result_s", "trivial_p50_s", "polars_p50_s"]:
            print(f"ratio {a['kernel']}/{b['kernel']} {key}: {a[key] / b[key]:.2f}")
