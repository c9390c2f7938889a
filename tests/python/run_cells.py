"""Runs cells on one workbench kernel through jupyter_client and reports what came back.

Usage: run_cells.py CELLS_JSON WORKSPACE
CELLS_JSON is a list of {"code": ..., "before": [argv...]} objects; "before", if given,
is a command run (and required to succeed) just before that cell, so a test can change
the governance store between cells. Prints a JSON list, one object per cell: "status",
"plain" (execute_result text/plain), "html" (any text/html shown), "svg", "mimes" (every
MIME type of every rich output), "ename", "evalue". The kernel takes its session from the
environment (WORKBENCH_STORE, WORKBENCH_SESSION), as the enclave's spawner sets it.
"""

import json
import os
import subprocess
import sys
import tempfile

from jupyter_client.manager import KernelManager

TIMEOUT = 300


def run(kc, code):
    msg_id = kc.execute(code)
    out = {"status": None, "plain": None, "html": [], "svg": [], "mimes": [], "streams": ""}
    while True:
        msg = kc.get_iopub_msg(timeout=TIMEOUT)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind in ("execute_result", "display_data"):
            data = content["data"]
            out["mimes"].extend(sorted(data))
            if kind == "execute_result":
                out["plain"] = data.get("text/plain")
            if "text/html" in data:
                out["html"].append(data["text/html"])
            if "image/svg+xml" in data:
                out["svg"].append(data["image/svg+xml"])
        elif kind == "stream":
            out["streams"] += content["text"]
        elif kind == "error":
            out["ename"], out["evalue"] = content["ename"], content["evalue"]
        elif kind == "status" and content["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=TIMEOUT)
    out["status"] = reply["content"]["status"]
    return out


def main():
    with open(sys.argv[1]) as handle:
        cells = json.load(handle)
    # An enclave kernel (served through the governance service) runs in a network
    # namespace of its own and is reached over ZeroMQ ipc, as the enclave's JupyterLab does.
    if os.environ.get("WORKBENCH_GOVERNOR"):
        # An absolute socket prefix: a relative one is taken from each side's own
        # working directory, and the kernel's is the workspace.
        sockets = os.path.join(tempfile.mkdtemp(prefix="wb-ipc-"), "kernel")
        km = KernelManager(kernel_name="workbench", transport="ipc", ip=sockets)
    else:
        km = KernelManager(kernel_name="workbench")
    km.start_kernel(cwd=sys.argv[2])
    kc = km.client()
    results = []
    try:
        kc.start_channels()
        kc.wait_for_ready(timeout=TIMEOUT)
        for cell in cells:
            if cell.get("before"):
                subprocess.run(cell["before"], check=True, capture_output=True)
            results.append(run(kc, cell["code"]))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
