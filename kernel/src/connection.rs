//! The connection file a front end writes for its kernel.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

/// Ports, transport, address and signing key.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Info {
    pub(crate) transport: String,
    pub(crate) ip: String,
    pub(crate) shell_port: u16,
    pub(crate) iopub_port: u16,
    pub(crate) stdin_port: u16,
    pub(crate) control_port: u16,
    pub(crate) hb_port: u16,
    pub(crate) key: String,
    pub(crate) signature_scheme: String,
}

impl Info {
    /// Reads and parses `path`.
    pub(crate) fn read(path: &Path) -> Result<Info> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading connection file {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("parsing connection file {}", path.display()))
    }

    /// The ZeroMQ endpoint for `port`: `tcp://IP:PORT`, or for `ipc` the socket file
    /// `IP-PORT` as jupyter_client names it.
    pub(crate) fn endpoint(&self, port: u16) -> String {
        match self.transport.as_str() {
            "ipc" => format!("ipc://{}-{port}", self.ip),
            transport => format!("{transport}://{}:{port}", self.ip),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_jupyter_client_connection_file() {
        let dir = std::env::temp_dir().join(format!("wb-conn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("kernel.json");
        std::fs::write(
            &path,
            r#"{"shell_port": 5001, "iopub_port": 5002, "stdin_port": 5003, "control_port": 5004, "hb_port": 5005,
                "ip": "127.0.0.1", "key": "k", "transport": "tcp", "signature_scheme": "hmac-sha256", "kernel_name": "workbench"}"#,
        )
        .expect("write");
        let info = Info::read(&path).expect("parses");
        assert_eq!(info.endpoint(info.shell_port), "tcp://127.0.0.1:5001");
        let ipc = Info {
            transport: "ipc".into(),
            ip: "/tmp/kernel-1-ipc".into(),
            ..info.clone()
        };
        assert_eq!(ipc.endpoint(5001), "ipc:///tmp/kernel-1-ipc-5001");
        std::fs::write(&path, "{}").expect("write");
        let err = format!("{:#}", Info::read(&path).expect_err("missing fields"));
        assert!(
            err.contains("kernel.json") && err.contains("missing field"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
