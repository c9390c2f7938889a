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
//! sockets scoped to the sandbox) with a seccomp allow-list of system calls that also
//! refuses every new socket (Unix, UDP, raw, netlink, packet: Landlock does not govern
//! `connect()` to a pathname Unix socket), new namespaces and `io_uring`, whose socket
//! operations would bypass the filter. If the running Linux cannot enforce all of it,
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

/// The environment variable that caps the child's CPU time, in seconds (all its threads
/// together, over the life of the process: a new one starts after it is stopped).
pub const CPU_VAR: &str = "WORKBENCH_CPU_SECONDS";

/// The child's CPU time when [`CPU_VAR`] does not say: 8 hours.
pub const DEFAULT_CPU_SECONDS: u64 = 8 * 3600;

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
    /// CPU time, seconds (SIGXCPU at the limit, SIGKILL a few seconds later).
    pub cpu_seconds: Option<u64>,
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
    /// memory), CPU time from [`CPU_VAR`] (default [`DEFAULT_CPU_SECONDS`]), 512
    /// processes, 16 GiB files.
    pub fn from_env() -> Limits {
        let number = |var: &str| {
            std::env::var(var)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        Limits {
            cpu_seconds: number(CPU_VAR).or(Some(DEFAULT_CPU_SECONDS)),
            ..Limits::for_build()
        }
    }

    /// The build's limits (cargo, rustc, the linker, build scripts, and the kernel
    /// process they start from): the child's memory, processes and file size. No CPU
    /// time: the kernel process lives for the session and would be stopped with it.
    pub fn for_build() -> Limits {
        let memory = std::env::var(MEMORY_VAR)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|mib| mib << 20)
            .or_else(|| total_memory().map(|bytes| bytes / 2));
        Limits {
            memory,
            processes: Some(512),
            file_size: Some(16 << 30),
            cpu_seconds: None,
        }
    }

    /// The limits as a user reads them, for the message when a cell's process is
    /// stopped.
    pub fn describe(&self) -> String {
        let gib = |b: u64| format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30));
        let mut parts = Vec::new();
        if let Some(m) = self.memory {
            parts.push(format!("memory {} ({MEMORY_VAR})", gib(m)));
        }
        if let Some(c) = self.cpu_seconds {
            parts.push(format!("CPU time {c} s ({CPU_VAR})"));
        }
        if let Some(p) = self.processes {
            parts.push(format!("{p} processes"));
        }
        if let Some(f) = self.file_size {
            parts.push(format!("files of {}", gib(f)));
        }
        parts.join(", ")
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

/// The system calls confined processes make: the build (cargo, rustc, cc, ld, build
/// scripts), the evaluation child (cells, polars, the relay) and the programs a cell may
/// start. Everything else is refused: what a process needs only to change the system or
/// to leave the sandbox (`mount`, `unshare`, `setns`, `ptrace`, `bpf`, `perf_event_open`,
/// `keyctl`, `userfaultfd`, module loading, System V IPC, `personality`, set-id calls…)
/// and every call this list does not know, a newer kernel's included.
#[rustfmt::skip]
const ALLOWED: &[libc::c_long] = {
    use libc::*;
    &[
        // Files and descriptors.
        SYS_read, SYS_write, SYS_close, SYS_fstat, SYS_lseek, SYS_ioctl, SYS_pread64,
        SYS_pwrite64, SYS_readv, SYS_writev, SYS_preadv, SYS_pwritev, SYS_preadv2,
        SYS_pwritev2, SYS_dup, SYS_dup3, SYS_fcntl, SYS_flock, SYS_fsync, SYS_fdatasync,
        SYS_ftruncate, SYS_truncate, SYS_getdents64, SYS_getcwd, SYS_chdir, SYS_fchdir,
        SYS_openat, SYS_openat2, SYS_mkdirat, SYS_fchownat, SYS_newfstatat, SYS_statx,
        SYS_unlinkat, SYS_renameat, SYS_renameat2, SYS_linkat, SYS_symlinkat,
        SYS_readlinkat, SYS_fchmod, SYS_fchmodat, SYS_fchown, SYS_faccessat,
        SYS_faccessat2, SYS_utimensat, SYS_umask, SYS_statfs, SYS_fstatfs, SYS_fadvise64,
        SYS_fallocate, SYS_sync_file_range, SYS_syncfs, SYS_sync, SYS_readahead,
        SYS_copy_file_range, SYS_sendfile, SYS_splice, SYS_tee, SYS_vmsplice,
        SYS_pipe2, SYS_close_range, SYS_memfd_create, SYS_getxattr, SYS_lgetxattr,
        SYS_fgetxattr, SYS_listxattr, SYS_llistxattr, SYS_flistxattr, SYS_setxattr,
        SYS_lsetxattr, SYS_fsetxattr, SYS_removexattr, SYS_lremovexattr,
        SYS_fremovexattr, SYS_inotify_init1, SYS_inotify_add_watch, SYS_inotify_rm_watch,
        // Waiting and events.
        SYS_ppoll, SYS_pselect6, SYS_epoll_create1, SYS_epoll_ctl, SYS_epoll_pwait,
        SYS_epoll_pwait2, SYS_eventfd2, SYS_signalfd4, SYS_timerfd_create,
        SYS_timerfd_settime, SYS_timerfd_gettime, SYS_futex, SYS_futex_waitv,
        SYS_set_robust_list, SYS_get_robust_list, SYS_nanosleep, SYS_clock_nanosleep,
        SYS_clock_gettime, SYS_clock_getres, SYS_gettimeofday, SYS_getitimer,
        SYS_setitimer, SYS_timer_create, SYS_timer_settime, SYS_timer_gettime,
        SYS_timer_getoverrun, SYS_timer_delete, SYS_sched_yield, SYS_restart_syscall,
        // Memory.
        SYS_mmap, SYS_mprotect, SYS_munmap, SYS_mremap, SYS_brk, SYS_madvise,
        SYS_msync, SYS_mincore, SYS_mlock, SYS_mlock2, SYS_munlock, SYS_membarrier,
        SYS_get_mempolicy, SYS_pkey_alloc, SYS_pkey_free, SYS_pkey_mprotect, SYS_rseq,
        // Processes and signals (clone is allowed below without namespace flags).
        SYS_execve, SYS_execveat, SYS_exit, SYS_exit_group, SYS_wait4, SYS_waitid,
        SYS_kill, SYS_tgkill, SYS_tkill, SYS_pidfd_open, SYS_pidfd_send_signal,
        SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_rt_sigpending,
        SYS_rt_sigtimedwait, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo,
        SYS_rt_sigsuspend, SYS_sigaltstack, SYS_set_tid_address, SYS_prctl,
        SYS_getpid, SYS_getppid, SYS_gettid, SYS_getuid, SYS_geteuid, SYS_getgid,
        SYS_getegid, SYS_getresuid, SYS_getresgid, SYS_getgroups, SYS_getpgid,
        SYS_setpgid, SYS_getsid, SYS_setsid, SYS_capget, SYS_uname, SYS_sysinfo,
        SYS_times, SYS_getrusage, SYS_getrlimit, SYS_setrlimit, SYS_prlimit64,
        SYS_getpriority, SYS_setpriority, SYS_sched_getaffinity, SYS_sched_setaffinity,
        SYS_sched_getparam, SYS_sched_getscheduler, SYS_sched_get_priority_max,
        SYS_sched_get_priority_min, SYS_sched_getattr, SYS_getcpu, SYS_getrandom,
        // Further confinement only narrows (a process may add its own filters).
        SYS_seccomp, SYS_landlock_create_ruleset, SYS_landlock_add_rule,
        SYS_landlock_restrict_self,
        // Sockets that exist already (pipes to the parent, a connected pair): new ones
        // are refused by `socket` below.
        SYS_socketpair, SYS_connect, SYS_accept4, SYS_bind, SYS_listen, SYS_sendto,
        SYS_recvfrom, SYS_sendmsg, SYS_recvmsg, SYS_sendmmsg, SYS_recvmmsg,
        SYS_shutdown, SYS_getsockname, SYS_getpeername, SYS_setsockopt, SYS_getsockopt,
    ]
};

/// The same for the calls x86_64 keeps from before their `*at` forms.
#[cfg(target_arch = "x86_64")]
#[rustfmt::skip]
const ALLOWED_LEGACY: &[libc::c_long] = {
    use libc::*;
    &[
        SYS_open, SYS_stat, SYS_lstat, SYS_access, SYS_poll, SYS_select, SYS_pipe,
        SYS_dup2, SYS_getdents, SYS_rename, SYS_mkdir, SYS_rmdir, SYS_creat, SYS_link,
        SYS_unlink, SYS_symlink, SYS_readlink, SYS_chmod, SYS_chown, SYS_lchown,
        SYS_utime, SYS_utimes, SYS_futimesat, SYS_epoll_create, SYS_epoll_wait,
        SYS_eventfd, SYS_signalfd, SYS_inotify_init, SYS_alarm, SYS_pause, SYS_time,
        SYS_getpgrp, SYS_fork, SYS_vfork, SYS_arch_prctl, SYS_accept,
    ]
};
#[cfg(not(target_arch = "x86_64"))]
const ALLOWED_LEGACY: &[libc::c_long] = &[];

/// Namespace flags of `clone`: a new namespace is a way out of the sandbox's view.
const NAMESPACE_FLAGS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWCGROUP) as u64;

/// An allow-list ([`ALLOWED`]): any other call fails with ENOSYS, as on a kernel
/// without it, so that programs take their fallbacks (glibc's `clone3` falls back to
/// `clone`, whose flags a filter can read; `clone3`'s sit behind a pointer). `clone`
/// with a namespace flag fails with EPERM. `socket` fails with EACCES whatever its
/// family, Unix sockets too: Landlock does not govern `connect()` to a pathname socket,
/// which would reach any daemon whose socket file the account may write (D-Bus,
/// docker, an ssh agent). `socketpair` stays: cargo uses it, and a pair reaches only
/// itself. io_uring is not on the list: its socket operations would bypass the filter.
fn seccomp() -> Result<(), Error> {
    use seccompiler::{
        SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };
    let arch = TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|e| Error::Seccomp(format!("architecture: {e}")))?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = ALLOWED
        .iter()
        .chain(ALLOWED_LEGACY)
        .map(|&call| (call, Vec::new()))
        .collect();
    let without_namespaces = SeccompRule::new(vec![
        SeccompCondition::new(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(NAMESPACE_FLAGS),
            0,
        )
        .map_err(seccomp_error)?,
    ])
    .map_err(seccomp_error)?;
    rules.insert(libc::SYS_clone, vec![without_namespaces]);
    // mkfifo and plain files through mknod, never device nodes (root has CAP_MKNOD).
    let node_rules = |mode_arg: u8| -> Result<Vec<SeccompRule>, Error> {
        [libc::S_IFIFO, libc::S_IFREG]
            .into_iter()
            .map(|kind| {
                SeccompCondition::new(
                    mode_arg,
                    SeccompCmpArgLen::Dword,
                    SeccompCmpOp::MaskedEq(u64::from(libc::S_IFMT)),
                    u64::from(kind),
                )
                .and_then(|c| SeccompRule::new(vec![c]))
                .map_err(seccomp_error)
            })
            .collect()
    };
    rules.insert(libc::SYS_mknodat, node_rules(2)?);
    #[cfg(target_arch = "x86_64")]
    rules.insert(libc::SYS_mknod, node_rules(1)?);
    let allowed = SeccompFilter::new(
        rules,
        SeccompAction::Errno(ENOSYS),
        SeccompAction::Allow,
        arch,
    )
    .map_err(seccomp_error)?;
    // Checked after the allow-list (filters stack; the strictest answer wins, and
    // among refusals the one installed last): `socket` refused as EACCES, `clone`
    // with namespace flags as EPERM.
    let sockets = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_socket, vec![])]),
        SeccompAction::Allow,
        SeccompAction::Errno(EACCES),
        arch,
    )
    .map_err(seccomp_error)?;
    // One rule per flag: a rule's conditions all hold, any rule matches.
    let any_namespace = [
        libc::CLONE_NEWNS,
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWCGROUP,
    ]
    .into_iter()
    .map(|flag| {
        let flag = flag as u64;
        SeccompCondition::new(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(flag),
            flag,
        )
        .and_then(|c| SeccompRule::new(vec![c]))
        .map_err(seccomp_error)
    })
    .collect::<Result<Vec<_>, _>>()?;
    let namespaces = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone, any_namespace)]),
        SeccompAction::Allow,
        SeccompAction::Errno(EPERM),
        arch,
    )
    .map_err(seccomp_error)?;
    for filter in [allowed, sockets, namespaces] {
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
const EPERM: u32 = 1;

fn limits(limits: &Limits) -> Result<(), Error> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    for (what, resource, value, grace) in [
        ("memory", Resource::As, limits.memory, 0),
        ("process", Resource::Nproc, limits.processes, 0),
        ("file size", Resource::Fsize, limits.file_size, 0),
        // SIGXCPU at the soft limit (the child's process ends), SIGKILL past the hard.
        ("CPU time", Resource::Cpu, limits.cpu_seconds, 5),
    ] {
        if let Some(value) = value {
            setrlimit(
                resource,
                Rlimit {
                    current: Some(value),
                    maximum: Some(value + grace),
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
