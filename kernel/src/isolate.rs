//! The enclave kernel's own network namespace: no interface but a loopback that is down,
//! so nothing the kernel or a cell starts reaches any address, whatever the other layers
//! (seccomp refuses new sockets, Landlock TCP) would have let through.
//!
//! Made by the kernel itself at its start, while it is the only thread (`unshare` of a
//! user namespace needs that), in a user namespace of its own that maps only the
//! session account onto itself; the capabilities that namespace gives are dropped at
//! once. The front end reaches the kernel over Unix sockets (ZeroMQ `ipc`), which a
//! network namespace does not separate.

use std::io::{Error, Result};

/// Moves this process into a new user and network namespace and drops the capabilities
/// the new user namespace gave it.
///
/// # Errors
///
/// A step the running Linux refuses (user namespaces disabled, more than one thread).
pub(crate) fn network() -> Result<()> {
    // SAFETY: getuid and getgid have no preconditions.
    #[allow(unsafe_code)]
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // SAFETY: unshare takes flags only; it fails (EINVAL) rather than misbehaves when
    // the process has other threads.
    #[allow(unsafe_code)]
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) } != 0 {
        return Err(Error::other(format!(
            "unshare(CLONE_NEWUSER | CLONE_NEWNET): {}",
            Error::last_os_error()
        )));
    }
    // The account stays itself inside (files it writes keep their owner); setgroups
    // must be denied before an unprivileged process may write its gid_map.
    let write = |file: &str, text: String| {
        std::fs::write(file, text).map_err(|e| Error::other(format!("writing {file}: {e}")))
    };
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
    write("/proc/self/gid_map", format!("{gid} {gid} 1"))?;
    drop_capabilities()
}

/// Empties the bounding, permitted, effective and inheritable sets.
fn drop_capabilities() -> Result<()> {
    // The bounding set first: dropping from it needs CAP_SETPCAP, which capset removes.
    for cap in 0..=63 {
        // SAFETY: prctl with PR_CAPBSET_DROP reads its integer argument only.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
        // EINVAL: no such capability on this kernel; the sets end there.
        if rc != 0 && Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
            break;
        }
        if rc != 0 {
            return Err(Error::other(format!(
                "dropping capability {cap} from the bounding set: {}",
                Error::last_os_error()
            )));
        }
    }
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: the header and the two data words are the layout capset(2) reads for
    // version 3; both outlive the call.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::syscall(libc::SYS_capset, std::ptr::from_ref(&header), data.as_ptr()) };
    if rc != 0 {
        return Err(Error::other(format!("capset: {}", Error::last_os_error())));
    }
    Ok(())
}
