// SPDX-License-Identifier: GPL-2.0
//! Entering a named network namespace (`ip netns`'s `/run/netns/NAME`).

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use crate::Failure;

/// Moves this thread into the network namespace `name`. Everything opened
/// afterwards (sockets, `/proc/thread-self/net/...`) is that namespace's.
pub fn enter(name: &str) -> Result<(), Failure> {
    let path = format!("/run/netns/{name}");
    let file = File::open(&path).map_err(|err| match err.kind() {
        io::ErrorKind::NotFound => Failure::new(format!(
            "no network namespace named {name} (see ip netns list)"
        )),
        io::ErrorKind::PermissionDenied => needs_root(),
        _ => Failure::new(format!("cannot open {path}: {err}")),
    })?;
    setns_net(file.as_fd()).map_err(|err| match err.raw_os_error() {
        Some(libc::EPERM) => needs_root(),
        Some(libc::EINVAL) => Failure::new(format!("{path} is not a network namespace")),
        _ => Failure::new(format!("cannot enter {path}: {err}")),
    })
}

fn needs_root() -> Failure {
    Failure::new("entering a namespace needs root (CAP_SYS_ADMIN)".to_owned())
}

/// `setns(fd, CLONE_NEWNET)`.
#[allow(unsafe_code)]
fn setns_net(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: `fd` is an open descriptor borrowed for the call; setns only
    // reads it and changes this thread's namespace, touching no memory of
    // ours.
    let rc = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
