//! Confinement of the evaluation child with Landlock, applied before any cell runs.
//!
//! The child may read and execute system files (its libraries, the compiled cells),
//! write only inside the session workspace (and `/dev/null`), and neither connect to
//! nor bind any TCP port. If the running kernel cannot enforce all of that, the child
//! refuses to start: user code never runs unconfined.
//!
//! Not covered yet (see `docs/kernel.md`): limiting reads to the project's data view,
//! UDP/raw/netlink sockets (Landlock ABI 7 governs TCP only; a seccomp filter is needed),
//! memory and process limits, and the compilation step (cargo runs in the kernel).

use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, path_beneath_rules,
};

/// The environment variable that names the session workspace for the child.
pub const WORKSPACE_VAR: &str = "WORKBENCH_WORKSPACE";

/// What the child may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Readable and executable trees.
    pub read: Vec<PathBuf>,
    /// Readable and writable trees (the session workspace).
    pub write: Vec<PathBuf>,
}

/// Why confinement could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Landlock ruleset could not be built or applied.
    #[error("landlock: {0}")]
    Landlock(#[from] landlock::RulesetError),
    /// The kernel applied only part of the rules.
    #[error("landlock rules only partly enforced ({0:?}); refusing to run user code")]
    Partial(RulesetStatus),
    /// The workspace is missing or not a directory.
    #[error("session workspace {} is not a directory", .0.display())]
    Workspace(PathBuf),
}

impl Policy {
    /// Reading the whole filesystem, writing only `workspace`.
    pub fn for_workspace(workspace: &Path) -> Policy {
        Policy {
            read: vec![PathBuf::from("/")],
            write: vec![workspace.to_owned(), PathBuf::from("/dev/null")],
        }
    }
}

/// Confines the calling process (and its future children) by `policy`.
///
/// # Errors
///
/// [`Error::Partial`] or [`Error::Landlock`] when the kernel cannot enforce the policy.
pub fn apply(policy: &Policy) -> Result<(), Error> {
    for dir in policy.write.iter().filter(|p| *p != Path::new("/dev/null")) {
        if !dir.is_dir() {
            return Err(Error::Workspace(dir.clone()));
        }
    }
    // ABI 4 is the first with TCP rules; asking for it as a hard requirement makes an
    // older kernel an error rather than a silent downgrade.
    let abi = ABI::V4;
    let status = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(abi))?
        .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)?
        .create()?
        .add_rules(path_beneath_rules(&policy.read, AccessFs::from_read(abi)))?
        .add_rules(path_beneath_rules(&policy.write, AccessFs::from_all(abi)))?
        .restrict_self()?;
    if status.ruleset != RulesetStatus::FullyEnforced {
        return Err(Error::Partial(status.ruleset));
    }
    Ok(())
}
