"""The governed enclave as its users meet it: `workbench up` driven through headless
Chromium (Debian's, through Playwright), with TOTP codes computed by pyotp.

Usage: python hub_e2e.py WORKBENCH_BINARY SCREENSHOT.png

Brings up JupyterHub on free ports; ana logs in with password and TOTP, picks project
kyoto, runs the cohort notebook and reads its first count on the page; the page's own
script (as an attacker's would) then tries the closed doors: a terminal, a python3 kernel
through /api/kernels and /api/sessions, /files/, /view/, /nbconvert/, raw contents of a
file; a cell displays a <script>. kei (project keio) runs one cell; tra (overview tier)
asks for rows. A wrong TOTP code and a locked-out user are refused. Prints a JSON summary;
the Rust test compares it with independent computations. Everything started is stopped.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pyotp
from playwright.sync_api import TimeoutError as PlaywrightTimeout, sync_playwright

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENCLAVE = os.path.join(ROOT, ".work/enclave")
NOTEBOOK = "01-cohort-overview.ipynb"


def free_port():
    # Three consecutive free ports: the hub's public one, its API, the proxy's API.
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port > 65000:
            continue
        ok = True
        for p in (port + 1, port + 2):
            with socket.socket() as t:
                try:
                    t.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
        if ok:
            return port
    raise RuntimeError("no free ports")


def wait_for(url, process, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"workbench up exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"no answer at {url}")


def users():
    with open(os.path.join(ENCLAVE, "demo-users.json")) as f:
        return json.load(f)


def login(page, base, user, password, code):
    page.goto(f"{base}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.fill("#otp_input", code)
    page.click("#login_submit")
    page.wait_for_load_state()
    return page.inner_text("body")


def fresh_code(secret):
    # A code with at least 5 s of its window left, so a slow page cannot push it out.
    while 30 - (time.time() % 30) < 5:
        time.sleep(1)
    return pyotp.TOTP(secret).now()


def spawn(page, base, user, project):
    """Picks `project` in the spawn form and waits for JupyterLab."""
    page.goto(f"{base}/hub/spawn")
    page.select_option("#project", project)
    page.click("form input[type=submit], form button[type=submit]")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=600_000)
    page.wait_for_selector(".jp-Launcher, .jp-NotebookPanel", timeout=300_000)


FETCH = """async ([method, url, body]) => {
  const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '';
  const r = await fetch(url, {method, headers: {'X-XSRFToken': decodeURIComponent(xsrf),
            'Content-Type': 'application/json'}, body: body ? JSON.stringify(body) : undefined});
  let text = ''; try { text = await r.text(); } catch (e) {}
  return {status: r.status, body: text.slice(0, 5000)};
}"""


def probe(page, method, url, body=None):
    return page.evaluate(FETCH, [method, url, body])


def run_cell(page, code, timeout=300_000):
    """Adds a cell below the first code cell of the open notebook, runs it, returns its
    output text. On a loaded machine a key press can land while JupyterLab is still busy:
    the code is checked in the editor, and Shift+Enter repeated until the cell is queued."""
    page.locator(".jp-NotebookPanel .jp-CodeCell .jp-InputArea-editor").first.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    cell = page.locator(".jp-NotebookPanel .jp-Cell.jp-mod-active").element_handle()
    cell.query_selector(".jp-InputArea-editor").click()
    page.keyboard.insert_text(code)
    page.wait_for_function(
        "([el, text]) => el.querySelector('.jp-InputArea-editor').textContent.includes(text)",
        arg=[cell, code[:20]],
        timeout=60_000,
    )
    queued = "(el) => /\\[(\\*|\\d+)\\]/.test(el.querySelector('.jp-InputPrompt').textContent)"
    for attempt in range(3):
        cell.query_selector(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_function(queued, arg=cell, timeout=60_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    page.wait_for_function(
        "(el) => /\\[\\d+\\]/.test(el.querySelector('.jp-InputPrompt').textContent)",
        arg=cell,
        timeout=timeout,
    )
    page.wait_for_timeout(500)
    return cell.query_selector(".jp-OutputArea").inner_text()


def open_notebook(page, base, user):
    page.goto(f"{base}/user/{user}/lab/tree/{NOTEBOOK}")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=120_000)
    # The kernel is ready when its status says idle.
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=600_000)


def ana_notebook(page, base, summary, screenshot):
    """ana's notebook in kyoto, a script in an output, the menus and the closed doors."""
    open_notebook(page, base, "ana")
    code_cells = page.locator(".jp-CodeCell").count()
    # A click on Run All that lands while the menu is still opening does nothing: try
    # again until the first cell is queued or has run.
    for _ in range(3):
        page.click(".lm-MenuBar-itemLabel:text-is('Run')", timeout=30_000)
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')", timeout=30_000)
        try:
            page.wait_for_function(
                "() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))",
                timeout=60_000,
            )
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    summary["code_cells"] = code_cells
    page.wait_for_function(
        f"() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].filter(e => /\\[\\d+\\]/.test(e.textContent)).length >= {code_cells}",
        timeout=600_000,
    )
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=600_000)
    summary["first_output"] = page.locator(".jp-CodeCell .jp-OutputArea-output").first.inner_text()
    summary["error_outputs"] = page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()
    summary["tables"] = page.locator(".jp-OutputArea-output table.dataframe").count()
    title = page.title()
    script_out = run_cell(
        page,
        'println!("WORKBENCH_DISPLAY {}", r#"{"text/html": "<script>document.title=\'x\'</script><b>shown</b>"}"#);',
    )
    page.wait_for_timeout(1000)
    summary["title_before"], summary["title_after"] = title, page.title()
    summary["script_cell_output"] = script_out
    page.click(".lm-MenuBar-itemLabel:text-is('File')")
    summary["file_menu"] = page.locator(".lm-Menu-content").first.inner_text()
    page.keyboard.press("Escape")
    page.screenshot(path=screenshot, full_page=True)
    api = f"/user/ana/api"
    summary["probes"] = {
        "terminal": probe(page, "POST", f"{api}/terminals"),
        "python3_kernel": probe(page, "POST", f"{api}/kernels", {"name": "python3"}),
        "python3_session": probe(page, "POST", f"{api}/sessions",
                                 {"path": "x.ipynb", "type": "notebook", "name": "x",
                                  "kernel": {"name": "python3"}}),
        "kernelspecs": probe(page, "GET", f"{api}/kernelspecs"),
        "files": probe(page, "GET", f"/user/ana/files/{NOTEBOOK}"),
        "view": probe(page, "GET", f"/user/ana/view/{NOTEBOOK}"),
        "nbconvert": probe(page, "GET", f"/user/ana/nbconvert/html/{NOTEBOOK}?download=true"),
        "upload_text": probe(page, "PUT", f"{api}/contents/note.txt",
                             {"type": "file", "format": "text", "content": "hello"}),
        "raw_text": probe(page, "GET", f"{api}/contents/note.txt"),
        "raw_notebook": probe(page, "GET", f"{api}/contents/{NOTEBOOK}?type=file&format=text"),
        "notebook": probe(page, "GET", f"{api}/contents/{NOTEBOOK}?content=0"),
        "workbench_kernel": probe(page, "POST", f"{api}/kernels", {"name": "workbench"}),
    }


def main():
    binary, screenshot = sys.argv[1], sys.argv[2]
    port = free_port()
    log = open(screenshot + ".log", "w")
    up = subprocess.Popen(
        [binary, "up", "--port", str(port), "--cases", "2000"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    summary = {}
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/hub/login", up, timeout=1800)
        demo = users()
        # The demo store outlives a run: an admin unlocks osa, locked by the last one.
        subprocess.run(
            [binary, "governance", "user", "unlock", "--store", os.path.join(ENCLAVE, "store"),
             "--user", "osa", "--by", "adm"],
            capture_output=True, check=False,
        )
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update",
                      "--disable-sync"],
            )
            # A wrong code, then a locked-out account (osa: failures up to the lock-out).
            ctx = browser.new_context()
            page = ctx.new_page()
            osa = demo["osa"]
            wrong = f"{(int(pyotp.TOTP(osa['totp_secret']).now()) + 1) % 1000000:06d}"
            summary["wrong_totp_page"] = login(page, base, "osa", osa["password"], wrong)[:3000]
            for _ in range(6):
                login(page, base, "osa", "not-the-password", wrong)
            summary["locked_page"] = login(
                page, base, "osa", osa["password"], fresh_code(osa["totp_secret"])
            )[:3000]
            summary["locked_url"] = page.url
            ctx.close()

            # ana in kyoto: the notebook, the closed doors, a script in an output.
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = ctx.new_page()
            console = []
            page.on("console", lambda m: console.append(m.text))
            ana = demo["ana"]
            login(page, base, "ana", ana["password"], fresh_code(ana["totp_secret"]))
            summary["ana_after_login"] = page.url
            try:
                spawn(page, base, "ana", "kyoto")
            except Exception:
                page.screenshot(path=screenshot + ".failed.png")
                print("\n".join(console), file=sys.stderr)
                raise
            launcher = page.locator(".jp-LauncherCard").all_inner_texts()
            summary["launcher"] = launcher
            try:
                ana_notebook(page, base, summary, screenshot)
            except Exception:
                page.screenshot(path=screenshot + ".failed.png")
                print("\n".join(console), file=sys.stderr)
                raise
            summary["csp"] = [m for m in console if "Content Security Policy" in m][:5]
            ctx.close()

            # kei in keio; tra in the overview-tier course.
            for user, project, code in [
                ("kei", "keio", 'println!("rows {}", table("diagnoses")?.height());'),
                ("tra", "lesson", 'println!("rows {}", table("diagnoses")?.height());'),
            ]:
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = ctx.new_page()
                d = demo[user]
                login(page, base, user, d["password"], fresh_code(d["totp_secret"]))
                spawn(page, base, user, project)
                open_notebook(page, base, user)
                summary[f"{user}_cell"] = run_cell(page, code)
                if user == "kei":
                    summary["kernel_netns"] = run_cell(
                        page, 'println!("{}", std::fs::read_link("/proc/self/ns/net")?.display());')
                    # What of the host's tree the session has (the server's own tree).
                    summary["tree_cell"] = run_cell(
                        page,
                        'let seen: Vec<&str> = ["/var", "/srv", "/opt", "/sys/fs", "/mnt", '
                        '"/root/.cargo/credentials.toml", "/etc/ssh/sshd_config"].into_iter()'
                        '.filter(|p| std::path::Path::new(p).exists()).collect();\n'
                        'println!("present {:?} shadow {}", seen, '
                        'std::fs::metadata("/etc/shadow").map(|m| m.len()).unwrap_or(0));')
                ctx.close()
            browser.close()
        summary["host_netns"] = os.readlink("/proc/self/ns/net")
        print(json.dumps(summary))
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
        log.close()


if __name__ == "__main__":
    main()
