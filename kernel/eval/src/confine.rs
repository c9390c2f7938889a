//! Confinement of everything user code can drive: the cell builds and the evaluation child.
//!
//! Two layers, both applied before any user code runs and inherited by every process
//! started after them:
//! - the **build layer**, on the kernel thread that owns evcxr (so cargo, rustc, build
//!   scripts, proc macros and the evaluation child all inherit it): reads of system
//!   files, the toolchain, the offline crate set, the prelude template and source, the
//!   session and the data view; writes to the session directory and the workspace only;
//! - the **child layer**, in the evaluation child: writes to the workspace only, reads of
//!   system files, the toolchain, the compiled cells and the data view; resource limits.
//!
//! Each layer combines Landlock (files; TCP connect and bind; signals and abstract Unix
//! sockets scoped to the sandbox) with a seccomp filter that refuses every socket (Unix,
//! UDP, raw, netlink, packet: Landlock does not govern `connect()` to a pathname Unix
//! socket) and `io_uring`, whose socket operations would bypass the filter. If the running Linux cannot enforce all of it,
//! confinement fails and user code never runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope, path_beneath_rules,
};

/// The environment variable that names the session workspace for the child.
pub const WORKSPACE_VAR: &str = "WORKBENCH_WORKSPACE";

/// The environment variable listing further readable trees for the child
/// (`:`-separated: the compiled cells, the data view).
pub const READ_VAR: &str = "WORKBENCH_READ";

/// The environment variable that caps the child's address space, in MiB.
pub const MEMORY_VAR: &str = "WORKBENCH_MEMORY_MIB";

/// What a confined process may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Readable and executable trees (or files).
    pub read: Vec<PathBuf>,
    /// Readable and writable trees.
    pub write: Vec<PathBuf>,
    /// Resource limits.
    pub limits: Limits,
}

/// Resource limits of the evaluation child, so that a cell cannot take the enclave down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Address space, bytes.
    pub memory: Option<u64>,
    /// Processes of the user (Linux does not enforce this for root).
    pub processes: Option<u64>,
    /// Largest file a cell may write, bytes.
    pub file_size: Option<u64>,
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
    /// The seccomp filter could not be built or installed.
    #[error("seccomp: {0}")]
    Seccomp(String),
    /// A resource limit could not be set.
    #[error("setting the {what} limit: {source}")]
    Limit {
        /// Which limit.
        what: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What of `/etc` the tools that build and run cells read: the dynamic linker's cache,
/// the compiler alternatives (`cc` is `/etc/alternatives/cc`), time zone, name-service
/// and font configuration. Not the rest: `/etc/shadow`, host keys and service
/// credentials live there.
const ETC_READS: [&str; 18] = [
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/hosts",
    "/etc/passwd",
    "/etc/group",
    "/etc/fonts",
    "/etc/os-release",
    "/etc/debian_version",
    "/etc/locale.alias",
    "/etc/mime.types",
    "/etc/gai.conf",
    "/etc/gitconfig",
];

/// Trees every confined process reads: the system, its libraries and the Rust toolchain.
pub fn system_reads() -> Vec<PathBuf> {
    let mut read: Vec<PathBuf> = [
        "/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/proc", "/dev", "/sys",
    ]
    .iter()
    .chain(ETC_READS.iter())
    .map(PathBuf::from)
    .collect();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    // rustup's toolchains (rustc, the standard library cells link against).
    match std::env::var_os("RUSTUP_HOME") {
        Some(dir) => read.push(PathBuf::from(dir)),
        None => read.extend(home.as_ref().map(|h| h.join(".rustup"))),
    }
    read
}

/// The cargo home (`CARGO_HOME`, else `~/.cargo`).
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// What the build reads of the cargo home: its `bin/` proxies, the offline crate set
/// (`registry/`, `git/`) and its configuration; never `credentials.toml`, where registry
/// tokens live.
pub fn cargo_home_reads() -> Vec<PathBuf> {
    let Some(home) = cargo_home() else {
        return Vec::new();
    };
    ["bin", "registry", "git", "config.toml", "config"]
        .iter()
        .map(|name| home.join(name))
        .filter(|path| path.exists())
        .collect()
}

/// Configuration files of the user that cargo reads when present (git's, for its fetch
/// settings); unreadable ones make cargo fail rather than skip them.
pub fn user_config_reads() -> Vec<PathBuf> {
    let Some(home) = std::env::var_os("HOME").map(PathBuf::from) else {
        return Vec::new();
    };
    [".gitconfig", ".config/git"]
        .iter()
        .map(|name| home.join(name))
        .filter(|path| path.exists())
        .collect()
}

/// Files in the cargo home that cargo writes even offline (its package-cache locks and
/// the last-use database); created here if missing so that rules can name them.
pub fn cargo_home_writes() -> Vec<PathBuf> {
    let Some(home) = cargo_home() else {
        return Vec::new();
    };
    [".package-cache", ".package-cache-mutate", ".global-cache"]
        .iter()
        .map(|name| home.join(name))
        .filter(|path| {
            path.exists()
                || std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .is_ok()
        })
        .collect()
}

impl Policy {
    /// The child's policy: system reads plus `extra` reads, writes to `workspace` only.
    pub fn for_workspace(workspace: &Path, extra: &[PathBuf]) -> Policy {
        let mut read = system_reads();
        read.extend(extra.iter().cloned());
        Policy {
            read,
            write: vec![workspace.to_owned(), PathBuf::from("/dev/null")],
            limits: Limits::default(),
        }
    }

    /// The child's policy from its environment ([`WORKSPACE_VAR`], [`READ_VAR`],
    /// [`MEMORY_VAR`]), as the kernel sets it.
    ///
    /// # Errors
    ///
    /// [`Error::Workspace`] when no workspace is named.
    pub fn from_env() -> Result<Policy, Error> {
        let workspace = std::env::var_os(WORKSPACE_VAR)
            .map(PathBuf::from)
            .ok_or_else(|| Error::Workspace(PathBuf::from(format!("(${WORKSPACE_VAR} unset)"))))?;
        let extra: Vec<PathBuf> = std::env::var_os(READ_VAR)
            .map(|v| std::env::split_paths(&v).collect())
            .unwrap_or_default();
        let mut policy = Policy::for_workspace(&workspace, &extra);
        policy.limits = Limits::from_env();
        Ok(policy)
    }
}

impl Limits {
    /// The child's limits: memory from [`MEMORY_VAR`] (default: half the machine's
    /// memory), 512 processes, 16 GiB files.
    pub fn from_env() -> Limits {
        let memory = std::env::var(MEMORY_VAR)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|mib| mib << 20)
            .or_else(|| total_memory().map(|bytes| bytes / 2));
        Limits {
            memory,
            processes: Some(512),
            file_size: Some(16 << 30),
        }
    }
}

/// Physical memory from `/proc/meminfo`, bytes.
fn total_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Confines the calling thread (and every thread and process it starts afterwards)
/// by `policy`: Landlock, the socket filter, then the resource limits.
///
/// # Errors
///
/// Any part that the running kernel cannot enforce; the caller must not run user code.
pub fn apply(policy: &Policy) -> Result<(), Error> {
    if let Some(missing) = policy.write.iter().find(|p| !p.exists()) {
        return Err(Error::Workspace(missing.clone()));
    }
    landlock(policy)?;
    seccomp()?;
    limits(&policy.limits)
}

fn landlock(policy: &Policy) -> Result<(), Error> {
    // ABI 6 is the first with signal and abstract-socket scoping (ABI 4 brought TCP);
    // a hard requirement makes an older kernel an error, not a silent downgrade.
    let abi = ABI::V6;
    // Rules need existing paths; a missing system directory (/lib32) just has nothing
    // to allow.
    let existing = |paths: &[PathBuf]| -> Vec<PathBuf> {
        paths.iter().filter(|p| p.exists()).cloned().collect()
    };
    let status = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(abi))?
        .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)?
        .scope(Scope::Signal | Scope::AbstractUnixSocket)?
        .create()?
        .add_rules(path_beneath_rules(
            existing(&policy.read),
            AccessFs::from_read(abi),
        ))?
        .add_rules(path_beneath_rules(
            existing(&policy.write),
            AccessFs::from_all(abi),
        ))?
        .restrict_self()?;
    if status.ruleset != RulesetStatus::FullyEnforced {
        return Err(Error::Partial(status.ruleset));
    }
    Ok(())
}

/// Refuses (EACCES) every new socket, Unix ones too, and io_uring (ENOSYS, as if
/// absent). Nothing a cell or its build needs opens one (evcxr talks to the child over
/// pipes, cargo is offline); a Unix socket would reach any daemon of the machine whose
/// socket file the kernel's user can write (D-Bus, docker, an ssh agent), which Landlock
/// does not govern. `socketpair` stays: cargo uses it, and a pair is connected only to
/// itself (connecting it elsewhere fails).
fn seccomp() -> Result<(), Error> {
    use seccompiler::{SeccompAction, SeccompFilter, TargetArch};
    let arch = TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|e| Error::Seccomp(format!("architecture: {e}")))?;
    let sockets = SeccompFilter::new(
        BTreeMap::from([(syscall::SOCKET, vec![])]),
        SeccompAction::Allow,
        SeccompAction::Errno(EACCES),
        arch,
    )
    .map_err(seccomp_error)?;
    let io_uring = SeccompFilter::new(
        BTreeMap::from([
            (syscall::IO_URING_SETUP, vec![]),
            (syscall::IO_URING_ENTER, vec![]),
            (syscall::IO_URING_REGISTER, vec![]),
        ]),
        SeccompAction::Allow,
        SeccompAction::Errno(ENOSYS),
        arch,
    )
    .map_err(seccomp_error)?;
    for filter in [sockets, io_uring] {
        let program: seccompiler::BpfProgram = filter.try_into().map_err(seccomp_error)?;
        seccompiler::apply_filter(&program).map_err(|e| Error::Seccomp(e.to_string()))?;
    }
    Ok(())
}

fn seccomp_error(e: impl std::fmt::Display) -> Error {
    Error::Seccomp(e.to_string())
}

const EACCES: u32 = 13;
const ENOSYS: u32 = 38;

/// System call numbers of the calls the filter names (they differ per architecture).
mod syscall {
    #[cfg(target_arch = "x86_64")]
    pub(super) const SOCKET: i64 = 41;
    #[cfg(target_arch = "aarch64")]
    pub(super) const SOCKET: i64 = 198;
    // io_uring has the same numbers on every architecture.
    pub(super) const IO_URING_SETUP: i64 = 425;
    pub(super) const IO_URING_ENTER: i64 = 426;
    pub(super) const IO_URING_REGISTER: i64 = 427;
}

fn limits(limits: &Limits) -> Result<(), Error> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    for (what, resource, value) in [
        ("memory", Resource::As, limits.memory),
        ("process", Resource::Nproc, limits.processes),
        ("file size", Resource::Fsize, limits.file_size),
    ] {
        if let Some(value) = value {
            setrlimit(
                resource,
                Rlimit {
                    current: Some(value),
                    maximum: Some(value),
                },
            )
            .map_err(|e| Error::Limit {
                what,
                source: e.into(),
            })?;
        }
    }
    Ok(())
}
