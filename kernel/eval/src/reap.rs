//! Processes a cell starts end with the cell, and a cell that fills the process limit
//! is told so.
//!
//! The kernel is the child subreaper of everything it starts: a process whose parent
//! ends (a shell that put a fork bomb in the background and returned) is re-parented to
//! the kernel, not to the sandbox's init, so every process a cell started stays below
//! the kernel and can be found. After each cell, [`end_strays`] walks that tree, stops
//! each process it finds (a stopped process cannot fork, so the walk ends even while a
//! fork bomb churns), then kills them all and reaps those that are the kernel's. The
//! process limit itself is the rlimit of `confine` (counted per user namespace, so in the
//! enclave's own namespace it bounds this session's kernel alone).

use std::collections::BTreeSet;

use rustix::process::{Pid, Signal, WaitOptions, getpid, kill_process, waitpid};

/// How many rounds the walk takes at most: each round stops what the last one found
/// and looks again below it; a stopped tree needs two.
const ROUNDS: usize = 64;

/// Makes the calling process the subreaper of its descendants.
///
/// # Errors
///
/// The `prctl` failed.
pub(crate) fn become_subreaper() -> std::io::Result<()> {
    rustix::process::set_child_subreaper(Some(getpid())).map_err(std::io::Error::from)
}

/// What [`end_strays`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Ended {
    /// Processes ended (not counting the evaluation child).
    pub(crate) processes: usize,
    /// Their ids, to reap again once the child has ended too (its zombies come to the
    /// kernel then).
    pids: BTreeSet<i32>,
    /// Threads of the kernel, the child and the ended processes together, counted
    /// before they were ended: what the process limit counts.
    pub(crate) tasks: usize,
}

/// Ends every process below the kernel but the evaluation child `child` itself: the
/// child's descendants and the kernel's other children (orphans re-parented to it).
/// Called between cells only, when no build runs.
pub(crate) fn end_strays(child: u32) -> Ended {
    let me = getpid().as_raw_nonzero().get();
    let child = i32::try_from(child).unwrap_or(i32::MAX);
    let mut stopped: BTreeSet<i32> = BTreeSet::new();
    for _ in 0..ROUNDS {
        let mut new = false;
        let mut frontier: Vec<i32> = children(me)
            .into_iter()
            .filter(|&p| p != child && is_cells(p, me, child))
            .chain(children(child))
            .collect();
        let mut seen = BTreeSet::new();
        while let Some(pid) = frontier.pop() {
            if !seen.insert(pid) {
                continue;
            }
            if stopped.insert(pid) {
                signal(pid, Signal::STOP);
                new = true;
            }
            frontier.extend(children(pid));
        }
        if !new {
            break;
        }
    }
    let tasks = threads(me) + threads(child) + stopped.iter().map(|&p| threads(p)).sum::<usize>();
    for &pid in &stopped {
        signal(pid, Signal::KILL);
    }
    reap(&stopped, me);
    Ended {
        processes: stopped.len(),
        pids: stopped,
        tasks,
    }
}

impl Ended {
    /// Reaps what the ended child left: its ended children, now the kernel's.
    pub(crate) fn reap_again(&self) {
        reap(&self.pids, getpid().as_raw_nonzero().get());
    }
}

/// Whether `pid`, a child of the kernel other than the evaluation child, came from a
/// cell: the child runs in a session of its own, so everything a cell starts is outside
/// the kernel's session (unless it made its own, which is outside too), while cargo and
/// rustc are in it. Nothing else is spared (a fork of the child keeps the child's
/// program, so the program proves nothing): the enclave's kernel has one evaluator.
fn is_cells(pid: i32, me: i32, _child: i32) -> bool {
    session(pid) != session(me)
}

/// The session id, field 6 of `/proc/PID/stat` (after the parenthesised command, which
/// may hold spaces and parentheses itself).
fn session(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(3)?.parse().ok()
}

/// Reaps those of `pids` that are the kernel's children (directly, or re-parented to it
/// as their parents ended), waiting a little for the kills to land; the others are the
/// child's, which reaps or keeps them.
fn reap(pids: &BTreeSet<i32>, me: i32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut left: BTreeSet<i32> = pids.clone();
    while !left.is_empty() && std::time::Instant::now() < deadline {
        left.retain(|&pid| {
            let Some(p) = Pid::from_raw(pid) else {
                return false;
            };
            match waitpid(Some(p), WaitOptions::NOHANG) {
                Ok(Some(_)) => false,
                // Not ended yet, or not re-parented yet: look again.
                Ok(None) => true,
                // ECHILD: gone, the child's, or still below an ending parent (one of
                // ours), which hands it to the kernel when it ends.
                Err(_) => parent(pid).is_some_and(|p| p != me && pids.contains(&p)),
            }
        });
        if !left.is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

fn signal(pid: i32, signal: Signal) {
    if let Some(p) = Pid::from_raw(pid) {
        // Gone already: nothing to end.
        let _ = kill_process(p, signal);
    }
}

/// The children of every thread of `pid` (a process's children hang off the thread
/// that started them).
fn children(pid: i32) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}

/// The `Threads:` of `/proc/PID/status` (0 when the process is gone).
fn threads(pid: i32) -> usize {
    status_field(pid, "Threads:").unwrap_or(0)
}

fn parent(pid: i32) -> Option<i32> {
    status_field(pid, "PPid:")
}

fn status_field<T: std::str::FromStr>(pid: i32, field: &str) -> Option<T> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().parse().ok())
}
