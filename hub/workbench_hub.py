"""The enclave's front door: JupyterHub's authenticator and spawner for the workbench, and
the single-user server's authorizer and kernelspec manager (R18, R33, R36).

Hub side (loaded by ``jupyterhub_config.py``, running as root):

* ``WorkbenchAuthenticator`` checks the password and the TOTP code against the governance
  store with ``workbench governance login`` (which applies the lock-out and audits every
  attempt); a refusal names its rule.
* ``WorkbenchSpawner`` asks the user for one of their projects, starts a governance session
  (``workbench session start``: the project's data view), and starts the user's JupyterLab
  as the local system account ``wb-USER`` inside a bubblewrap mount namespace in which the
  full lake, the store, other users' workspaces, ``/home`` and ``/root`` do not exist. The
  kernel talks to the governance service over its socket; it cannot read the store.

Single-user side (loaded by ``singleuser/jupyter_server_config.py``, running as ``wb-USER``):

* ``EnclaveAuthorizer`` refuses, on the server, what would take data out or run code
  outside our kernel: terminals, ``/files/``, ``/view/``, ``/nbconvert/``, raw contents of
  files, and starting any kernel but ``workbench`` (by ``/api/kernels`` or ``/api/sessions``).
* ``EnclaveKernelSpecManager`` knows one kernel, ``workbench``.
"""

import asyncio
import html
import json
import os
import pwd
import re
import shutil
import subprocess
import sys

KERNEL = "workbench"
ACCOUNT_PREFIX = "wb-"
NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _parents(path):
    """The directories above `path`, outermost first, without `/`."""
    parents = []
    parent = os.path.dirname(path)
    while parent != "/":
        parents.insert(0, parent)
        parent = os.path.dirname(parent)
    return parents


def _env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: start the enclave with `workbench up`")
    return value


def _workbench(*args, stdin=None):
    """Runs the workbench CLI; returns (exit code, stdout, stderr)."""
    proc = subprocess.run(
        [_env("WORKBENCH_BIN"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def _last_line(text):
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else "refused"


def _reason(stderr):
    """The workbench's refusal without anyhow's `error: ` prefix."""
    line = _last_line(stderr)
    return line[len("error: "):] if line.lower().startswith("error: ") else line


# ---------------------------------------------------------------------------------------
# Hub side
# ---------------------------------------------------------------------------------------

from jupyterhub.auth import Authenticator
from jupyterhub.spawner import LocalProcessSpawner
from tornado import web
from traitlets import default


class WorkbenchAuthenticator(Authenticator):
    """Password and TOTP against the governance store (R18: two factors, lock-out, audit)."""

    @default("request_otp")
    def _request_otp_default(self):
        return True

    @default("otp_prompt")
    def _otp_prompt_default(self):
        return "Authenticator code (TOTP):"

    @default("allow_all")
    def _allow_all_default(self):
        # Who may log in is the governance store's decision, made in `authenticate`.
        return True

    async def authenticate(self, handler, data):
        username = (data.get("username") or "").strip()
        password = data.get("password") or ""
        otp = (data.get("otp") or "").strip()
        if not NAME.match(username):
            raise web.HTTPError(403, "R18-account: not a user name")
        store = os.path.join(_env("WORKBENCH_ENCLAVE"), "store")
        code, _, err = await asyncio.to_thread(
            _workbench,
            "governance", "login", "--store", store, "--user", username, "--totp", otp,
            stdin=password + "\n",
        )
        if code != 0:
            reason = _reason(err)
            self.log.warning("login of %s refused: %s", username, reason)
            # The refusal names its rule (wrong code, locked out, disabled…).
            raise web.HTTPError(403, reason)
        return username


def _projects_of(user):
    store = os.path.join(_env("WORKBENCH_ENCLAVE"), "store")
    code, out, err = _workbench("governance", "project", "list", "--store", store)
    if code != 0:
        raise RuntimeError(f"listing projects: {_last_line(err)}")
    return [p for p in json.loads(out) if user in p.get("members", [])]


def ensure_account(user):
    """The local system account of `user` (made on first use): no login, no home."""
    account = ACCOUNT_PREFIX + user.lower()
    try:
        return pwd.getpwnam(account)
    except KeyError:
        pass
    subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home",
         "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", account],
        check=True, capture_output=True,
    )
    return pwd.getpwnam(account)


class WorkbenchSpawner(LocalProcessSpawner):
    """One JupyterLab per (user, project), as `wb-USER`, inside a bubblewrap namespace."""

    session_id = None

    @default("options_form")
    def _options_form_default(self):
        return WorkbenchSpawner._form

    async def _form(self):
        projects = await asyncio.to_thread(_projects_of, self.user.name)
        if not projects:
            return "<p>You are a member of no project: ask the programme office (R36-member).</p>"
        wanted = self.name or ""
        options = "".join(
            f'<option value="{html.escape(p["project"])}"{" selected" if p["project"] == wanted else ""}>'
            f'{html.escape(p["project"])} ({html.escape(p.get("tier", ""))}, {html.escape(p.get("forum", ""))})</option>'
            for p in projects
        )
        return (
            '<label for="project">Project</label>'
            f'<select id="project" name="project" class="form-control">{options}</select>'
        )

    def options_from_form(self, formdata):
        project = (formdata.get("project") or [""])[0]
        return {"project": project}

    def make_preexec_fn(self, name):
        # bubblewrap needs root to make the namespace; setpriv drops to the account inside.
        return None

    def user_env(self, env):
        return env

    async def start(self):
        project = (self.user_options or {}).get("project", "")
        if not NAME.match(project):
            raise web.HTTPError(400, "pick a project")
        if self.name and self.name != project:
            raise web.HTTPError(400, f"the server {self.name} is for project {self.name}")
        account = await asyncio.to_thread(ensure_account, self.user.name)
        enclave = _env("WORKBENCH_ENCLAVE")
        root = _env("WORKBENCH_ROOT")
        store = os.path.join(enclave, "store")
        workspace = os.path.join(enclave, "workspaces", project, self.user.name)
        await asyncio.to_thread(self._workspace, workspace, account, root)
        code, out, err = await asyncio.to_thread(
            _workbench,
            "session", "start", "--store", store, "--lake", os.path.join(enclave, "lake"),
            "--user", self.user.name, "--project", project,
            "--account", account.pw_name, "--json",
        )
        if code != 0:
            raise web.HTTPError(403, _reason(err))
        started = json.loads(out)
        self.session_id = started["session"]
        session_dir = os.path.dirname(started["view"])
        self.log.info("session %s of %s in %s: %s", self.session_id, self.user.name,
                      project, started["tables"])
        self.notebook_dir = workspace
        venv = _env("WORKBENCH_VENV")
        socket_dir = os.path.join(enclave, "run")
        bwrap = [
            "bwrap", "--die-with-parent", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--hostname", "enclave",
        ]
        # A tree of its own: the system's programs and libraries, /etc without its
        # secrets, the product's checkout (its binaries, the prelude, the virtualenv),
        # the toolchain, and below the session's view, workspace and service socket.
        # No /home, /root, /var, /srv, /opt, /mnt, /sys or other sockets.
        bwrap += self._system_binds()
        bwrap += [
            "--dev", "/dev", "--proc", "/proc",
            "--perms", "1777", "--tmpfs", "/tmp",
            "--tmpfs", "/home", "--tmpfs", "/root", "--tmpfs", "/run",
        ]
        for parent in _parents(root):
            bwrap += ["--perms", "0755", "--dir", parent]
        bwrap += ["--ro-bind", root, root]
        for keep in self._toolchain_paths():
            # bubblewrap makes missing parents private (0700): make them passable first.
            parents = []
            parent = os.path.dirname(keep)
            while parent not in ("/", "/root", "/home"):
                parents.insert(0, parent)
                parent = os.path.dirname(parent)
            for d in parents:
                bwrap += ["--perms", "0755", "--dir", d]
            bwrap += ["--ro-bind", keep, keep]
        bwrap += [
            # The enclave directory is empty but for this session's view, the workspace
            # and the governance service's socket.
            "--tmpfs", enclave,
        ]
        # bubblewrap makes missing parents private (0700): make them passable first.
        for target in (session_dir, workspace, socket_dir):
            rel = os.path.relpath(os.path.dirname(target), enclave)
            parts = [] if rel == "." else rel.split(os.sep)
            for i in range(1, len(parts) + 1):
                bwrap += ["--perms", "0755", "--dir", os.path.join(enclave, *parts[:i])]
        bwrap += [
            "--ro-bind", session_dir, session_dir,
            "--bind", workspace, workspace,
            "--ro-bind", socket_dir, socket_dir,
            "--chdir", workspace,
            "--",
            "setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
            "--clear-groups", "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all",
            "--",
        ]
        self.cmd = bwrap + [os.path.join(venv, "bin", "jupyterhub-singleuser")]
        self.environment = {
            "WORKBENCH_GOVERNOR": os.path.join(socket_dir, "governor.sock"),
            "WORKBENCH_SESSION": self.session_id,
            "HOME": "/tmp",
            "USER": account.pw_name,
            "SHELL": "/usr/sbin/nologin",
            "PYTHONNOUSERSITE": "1",
            "PYTHONPATH": os.path.join(root, "hub"),
            "JUPYTER_CONFIG_DIR": os.path.join(root, "hub", "singleuser"),
            "JUPYTER_CONFIG_PATH": "",
            "JUPYTER_PATH": os.path.join(venv, "share", "jupyter"),
            "JUPYTER_RUNTIME_DIR": "/tmp/jupyter-runtime",
            "JUPYTERLAB_WORKSPACES_DIR": "/tmp/jupyterlab-workspaces",
            "CARGO_HOME": os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo")),
            "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", os.path.expanduser("~/.rustup")),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        return await super().start()

    @staticmethod
    def _system_binds():
        """The system's directories read-only (merged-/usr links as links), and /etc with
        its password hashes and host keys hidden."""
        binds = []
        for d in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"):
            if os.path.islink(d):
                binds += ["--symlink", os.readlink(d), d]
            elif os.path.isdir(d):
                binds += ["--ro-bind", d, d]
        for secret in ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-",
                       "/etc/sudoers"):
            if os.path.exists(secret):
                binds += ["--ro-bind", "/dev/null", secret]
        for secret_dir in ("/etc/ssh", "/etc/sudoers.d", "/etc/ssl/private"):
            if os.path.isdir(secret_dir):
                binds += ["--tmpfs", secret_dir]
        return binds

    @staticmethod
    def _toolchain_paths():
        """What the kernel needs of the root account's home: the Rust toolchain and the
        cargo home's programs and registry cache, never its credentials."""
        cargo = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
        rustup = os.environ.get("RUSTUP_HOME", os.path.expanduser("~/.rustup"))
        # The virtualenv's interpreter is a link into the Python it was made from.
        python = sys.base_prefix
        paths = [rustup, os.path.join(cargo, "bin"), os.path.join(cargo, "registry"),
                 os.path.join(cargo, "git"), os.path.join(cargo, "config.toml"), python]
        return [p for p in paths if os.path.exists(p) and p.startswith(("/root", "/home"))]

    @staticmethod
    def _workspace(workspace, account, root):
        """The user's workspace in the project, private to their account, seeded once
        with the programme's tutorial notebooks."""
        project_dir = os.path.dirname(workspace)
        os.makedirs(project_dir, mode=0o711, exist_ok=True)
        if not os.path.isdir(workspace):
            os.makedirs(workspace, mode=0o700)
            source = os.path.join(root, "notebooks")
            for name in sorted(os.listdir(source)):
                if name.endswith(".ipynb"):
                    shutil.copyfile(os.path.join(source, name), os.path.join(workspace, name))
            for dirpath, dirnames, filenames in os.walk(workspace):
                for entry in [dirpath] + [os.path.join(dirpath, f) for f in filenames]:
                    os.chown(entry, account.pw_uid, account.pw_gid)
        os.chmod(workspace, 0o700)

    async def stop(self, now=False):
        await super().stop(now=now)
        if self.session_id:
            store = os.path.join(_env("WORKBENCH_ENCLAVE"), "store")
            await asyncio.to_thread(
                _workbench, "session", "end", "--store", store, "--session", self.session_id
            )
            self.session_id = None

    def get_state(self):
        state = super().get_state()
        if self.session_id:
            state["session_id"] = self.session_id
        return state

    def load_state(self, state):
        super().load_state(state)
        self.session_id = state.get("session_id")

    def clear_state(self):
        super().clear_state()
        self.session_id = None


# ---------------------------------------------------------------------------------------
# Single-user side
# ---------------------------------------------------------------------------------------

def _refused_handler(handler):
    name = type(handler).__name__
    # AuthenticatedFileHandler serves /files/ for the FileContentsManager (its
    # `files_handler_class`); FilesHandler for other contents managers.
    return name in {
        "FilesHandler", "AuthenticatedFileHandler", "FilesRedirectHandler", "ViewHandler",
        "NbconvertFileHandler", "NbconvertPostHandler", "NbconvertRootHandler",
    }


def _kernel_names(handler, resource):
    """Kernel names a POST or PATCH to /api/kernels (`name`) or /api/sessions
    (`kernel.name`; the session's own `name` is its label) asks for."""
    try:
        body = json.loads(handler.request.body or b"{}")
    except ValueError:
        return ["(unreadable request)"]
    if not isinstance(body, dict):
        return ["(unreadable request)"]
    names = []
    if resource == "kernels" and "name" in body:
        names.append(body.get("name"))
    kernel = body.get("kernel")
    if isinstance(kernel, dict) and "name" in kernel:
        names.append(kernel.get("name"))
    return names


from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyterhub.singleuser.extension import JupyterHubAuthorizer


class EnclaveAuthorizer(JupyterHubAuthorizer):
    """JupyterHub's scope check, then the enclave's (R18: results leave only through the
    export channel; code runs only in the confined kernel)."""

    def is_authorized(self, handler, user, action, resource):
        verdict = self._enclave(handler, action, resource)
        if verdict is not None:
            self.log.warning("R18-enclave: refused %s %s (%s): %s", handler.request.method,
                             handler.request.path, resource, verdict)
            return False
        return super().is_authorized(handler, user, action, resource)

    def _enclave(self, handler, action, resource):
        if resource in ("terminals", "nbconvert"):
            return f"no {resource} in the enclave"
        if _refused_handler(handler):
            return "files leave the enclave only through the export channel"
        method = handler.request.method
        if resource in ("kernels", "sessions") and method in ("POST", "PATCH"):
            for name in _kernel_names(handler, resource):
                if name not in (None, KERNEL):
                    return f"only the {KERNEL} kernel runs here, not {name!r}"
        if resource == "contents" and method == "GET":
            args = handler.request.arguments
            arg = lambda k: (args.get(k) or [b""])[0].decode("utf-8", "replace")
            if arg("content") == "0":
                return None
            if arg("type") == "file" or arg("format") in ("text", "base64"):
                return "raw file contents do not leave the enclave"
            path = handler.path_kwargs.get("path", "") if hasattr(handler, "path_kwargs") else ""
            root = getattr(handler.contents_manager, "root_dir", "")
            full = os.path.join(root, path.strip("/"))
            if not path.strip("/") or os.path.isdir(full) or path.endswith(".ipynb"):
                return None
            return "raw file contents do not leave the enclave"
        return None


class EnclaveKernelSpecManager(KernelSpecManager):
    """Only the workbench kernel exists (listing and starting alike)."""

    @default("ensure_native_kernel")
    def _ensure_native_kernel_default(self):
        return False

    def find_kernel_specs(self):
        return {k: v for k, v in super().find_kernel_specs().items() if k == KERNEL}

    def get_kernel_spec(self, kernel_name):
        if kernel_name != KERNEL:
            raise NoSuchKernel(kernel_name)
        return super().get_kernel_spec(kernel_name)
