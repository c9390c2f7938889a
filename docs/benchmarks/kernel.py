"""Kernel latency benchmark: our kernel against stock evcxr_jupyter, same machine, one run.

Usage: python docs/benchmarks/kernel.py KERNEL_NAME [KERNEL_NAME ...]
Each KERNEL_NAME must be a kernelspec on JUPYTER_PATH (docs/benchmarks/kernel.sh installs
`workbench` and `evcxr-stock`). For each kernel it reports: start to kernel_info reply,
start to the first result of a trivial cell, p50/p95 of 20 trivial cells, and the kernel
process's resident memory before and after 100 cells.
"""

import json
import statistics
import sys
import time

from jupyter_client.manager import start_new_kernel


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run(kc, code):
    started = time.monotonic()
    reply = kc.execute_interactive(code, timeout=600, output_hook=lambda msg: None)
    assert reply["content"]["status"] == "ok", reply["content"]
    return time.monotonic() - started


def bench(name):
    started = time.monotonic()
    km, kc = start_new_kernel(kernel_name=name, startup_timeout=600)
    ready = time.monotonic() - started
    run(kc, "1 + 1")
    first = time.monotonic() - started
    trivial = sorted(run(kc, "1 + 1") for _ in range(20))
    pid = km.provisioner.process.pid
    before = rss_kib(pid)
    run(kc, "let mut n = 0u64;")
    for _ in range(100):
        run(kc, "n += 1;")
    after = rss_kib(pid)
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return {
        "kernel": name,
        "start_to_kernel_info_s": round(ready, 2),
        "start_to_first_result_s": round(first, 2),
        "trivial_p50_s": round(statistics.median(trivial), 3),
        "trivial_p95_s": round(trivial[int(0.95 * (len(trivial) - 1))], 3),
        "rss_before_100_cells_mib": round(before / 1024, 1),
        "rss_after_100_cells_mib": round(after / 1024, 1),
    }


if __name__ == "__main__":
    results = [bench(name) for name in sys.argv[1:]]
    for result in results:
        print(json.dumps(result))
    if len(results) == 2:
        a, b = results
        print(
            f"ratio {a['kernel']}/{b['kernel']}: first result {a['start_to_first_result_s'] / b['start_to_first_result_s']:.2f}, "
            f"trivial p50 {a['trivial_p50_s'] / b['trivial_p50_s']:.2f}"
        )
