"""JupyterHub of the enclave: written for `workbench up`, which sets the WORKBENCH_*
variables below and starts the governance service first.

Logins against the governance store (password + TOTP), one JupyterLab per user and
project as the account wb-USER in a bubblewrap namespace, no hub admins, the proxy from
the project's own npm install, all state under the enclave's `hub/` directory.
"""

import os

c = get_config()  # noqa: F821 (JupyterHub's config loader provides it)

hub_dir = os.environ["WORKBENCH_HUB_DIR"]

c.JupyterHub.authenticator_class = "workbench_hub.WorkbenchAuthenticator"
c.JupyterHub.spawner_class = "workbench_hub.WorkbenchSpawner"
c.JupyterHub.bind_url = os.environ.get("WORKBENCH_HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("WORKBENCH_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:" + os.environ.get(
    "WORKBENCH_PROXY_API_PORT", "8001"
)
c.JupyterHub.db_url = "sqlite:///" + os.path.join(hub_dir, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(hub_dir, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(hub_dir, "jupyterhub.pid")
c.ConfigurableHTTPProxy.command = [os.environ["WORKBENCH_CHP"]]
c.ConfigurableHTTPProxy.pid_file = os.path.join(hub_dir, "proxy.pid")
# A project per server: the default server asks which; a named server is its project.
c.JupyterHub.allow_named_servers = True
c.JupyterHub.named_server_limit_per_user = 5
# Nobody administers other users' servers through the hub (R18: no one reads another
# user's session).
c.Authenticator.admin_users = set()
c.JupyterHub.admin_access = False
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 600
c.Spawner.http_timeout = 120
c.JupyterHub.tornado_settings = {
    "headers": {
        "Content-Security-Policy": "frame-ancestors 'self'; object-src 'none'; base-uri 'self'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
}
