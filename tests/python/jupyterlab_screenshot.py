"""`workbench up --single-user` (a trainer's own machine) as a new user meets it, driven through headless Chromium.

Usage: python jupyterlab_screenshot.py WORKBENCH_BINARY SCREENSHOT.png

Starts `workbench up` (JupyterLab with the workbench kernel on a synthetic enclave) on a free
port with a known token, opens the cohort notebook in Chromium (Debian's, through
Playwright), runs every cell from JupyterLab's Run menu, waits until the kernel has rendered
the notebook's tables, checks that no cell failed, and saves a screenshot. Prints a JSON
summary. Everything started is stopped at the end.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from playwright.sync_api import sync_playwright

from lake_view import read, visible_cases

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NOTEBOOK = "01-cohort-overview.ipynb"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url, process, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"workbench up exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"JupyterLab did not answer at {url}")


def kernels_idle(base, token, timeout):
    """Waits until JupyterLab reports a running kernel and every kernel is idle."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=5) as response:
            kernels = json.load(response)
        if kernels and all(k["execution_state"] == "idle" for k in kernels):
            return kernels
        time.sleep(1)
    raise TimeoutError("the kernel did not become idle")


def main():
    binary, screenshot = sys.argv[1], sys.argv[2]
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_TOKEN=token)
    log = open(screenshot + ".log", "w")
    up = subprocess.Popen(
        [binary, "up", "--single-user", "--port", str(port), "--cases", "2000"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_server(f"{base}/api/status?token={token}", up, timeout=1800)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=120_000)
            # The kernel is ready when the server reports it idle (its prelude loaded).
            kernels_idle(base, token, timeout=600)
            page.click(".lm-MenuBar-itemLabel:text-is('Run')", timeout=30_000)
            page.click(".lm-Menu-itemLabel:text-is('Run All Cells')", timeout=30_000)
            code_cells = page.locator(".jp-CodeCell").count()
            # Every code cell has run when each shows an execution count.
            page.wait_for_function(
                f"() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].filter(e => /\\[\\d+\\]/.test(e.textContent)).length >= {code_cells}",
                timeout=600_000,
            )
            kernels_idle(base, token, timeout=600)
            page.wait_for_timeout(1000)
            tables = page.locator(".jp-OutputArea-output table.dataframe").count()
            # The first cell's number as the page shows it ("N cases, M registrations").
            first = page.locator(".jp-CodeCell .jp-OutputArea-output").first.inner_text()
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()
            page.screenshot(path=screenshot, full_page=True)
            browser.close()
        # The same numbers, computed here from the enclave's lake with our own consent rule.
        lake = os.path.join(ROOT, ".work/enclave/lake")
        visible = visible_cases(lake)
        expected = {
            "cases": sum(1 for r in read(lake, "clinical/diagnoses.parquet", ["case_id"]) if r["case_id"] in visible),
            "registrations": sum(1 for r in read(lake, "registrations.parquet", ["case_id"]) if r["case_id"] in visible),
        }
        print(
            json.dumps(
                {
                    "code_cells": code_cells,
                    "tables": tables,
                    "error_outputs": errors,
                    "first_output": first,
                    "expected": expected,
                }
            )
        )
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        try:
            up.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
        log.close()


if __name__ == "__main__":
    main()
