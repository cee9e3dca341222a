// SPDX-License-Identifier: GPL-2.0
//! The one system call this crate makes itself.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `getsockopt(2)` with `buf` going both ways: the kernel reads the query
/// from it and writes the answer back. Returns the length the kernel
/// reported (at most `buf.len()`).
#[allow(unsafe_code)]
pub(crate) fn getsockopt_inout(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    buf: &mut [u8],
) -> io::Result<usize> {
    let mut len = libc::socklen_t::try_from(buf.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "option buffer too large"))?;
    // SAFETY: `fd` is an open descriptor, borrowed for the whole call.
    // `buf` is a live, exclusively borrowed buffer of `len` bytes, which is
    // all the kernel may read or write; `len` is a live local it updates.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            buf.as_mut_ptr().cast::<libc::c_void>(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let written = usize::try_from(len).unwrap_or(usize::MAX);
    Ok(written.min(buf.len()))
}
