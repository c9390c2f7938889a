"""The single-user JupyterLab of an enclave session, closed on the server (R18): the
workbench kernel only, no terminals, no file downloads or exports, no extension manager,
a Content-Security-Policy that lets the page run only its own scripts and talk only to
its own origin. Loaded from JUPYTER_CONFIG_DIR, which the spawner points here (a
directory the session's account cannot write)."""

c = get_config()  # noqa: F821

c.ServerApp.authorizer_class = "workbench_hub.EnclaveAuthorizer"
c.ServerApp.kernel_spec_manager_class = "workbench_hub.EnclaveKernelSpecManager"
c.ServerApp.terminals_enabled = False
c.MappingKernelManager.default_kernel_name = "workbench"
# The kernel runs in a network namespace of its own (it refuses to start otherwise):
# ZeroMQ over Unix sockets in the runtime directory, which no namespace separates.
c.KernelManager.transport = "ipc"
c.KernelSpecManager.ensure_native_kernel = False
c.LabApp.extension_manager = "readonly"
c.LabServerApp.extension_manager = "readonly"
c.FileContentsManager.allow_hidden = False
c.FileContentsManager.delete_to_trash = False
c.ServerApp.tornado_settings = {
    "headers": {
        "Content-Security-Policy": "; ".join(
            [
                "default-src 'self'",
                # No inline script. 'unsafe-eval': JupyterLab's settings registry
                # compiles its JSON schemas with ajv (new Function); without it the
                # notebook plugins do not start (seen in Chromium 156).
                "script-src 'self' 'unsafe-eval'",
                "style-src 'self' 'unsafe-inline'",
                "img-src 'self' data: blob:",
                "font-src 'self' data:",
                "connect-src 'self'",
                "frame-src 'self'",
                "frame-ancestors 'self'",
                "object-src 'none'",
                "base-uri 'self'",
                "form-action 'self'",
            ]
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
}
