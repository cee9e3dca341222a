// SPDX-License-Identifier: GPL-2.0

//! A safe view of the `sk_buff` a netfilter hook is handed.
//!
//! Reads follow `skb_header_pointer()`: a slice of the linear area when the
//! bytes are there, else a copy into the caller's buffer (non-linear skbs).
//! A returned slice borrows the skb, so the borrow checker rules out using
//! header bytes across anything that may move them (which takes `&mut`).

use kernel::{bindings, error::to_result, prelude::*, types::Opaque};

use crate::uoa_bindings as b;

/// A packet in a netfilter hook; `data` points at the network header.
#[repr(transparent)]
pub(crate) struct Skb(Opaque<bindings::sk_buff>);

impl Skb {
    /// Wraps the skb of a hook invocation.
    ///
    /// # Safety
    ///
    /// `ptr` is a valid `sk_buff` owned by the caller for `'a`, and nothing
    /// else accesses it during `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::sk_buff) -> &'a mut Skb {
        // SAFETY: `Skb` is a transparent wrapper of `sk_buff`; validity and
        // exclusivity are the caller's promise.
        unsafe { &mut *ptr.cast::<Skb>() }
    }

    fn raw(&self) -> *mut bindings::sk_buff {
        self.0.get()
    }

    /// Bytes from `data` to the end of the packet.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        // SAFETY: `raw()` is valid (constructor contract); plain field read.
        unsafe { (*self.raw()).len as usize }
    }

    /// Bytes from `data` to the end of the linear area.
    #[inline]
    fn headlen(&self) -> usize {
        // SAFETY: as in `len`.
        unsafe { ((*self.raw()).len - (*self.raw()).data_len) as usize }
    }

    /// The first `N` bytes, if they are in the linear area (in place).
    #[inline(always)]
    pub(crate) fn linear_prefix<const N: usize>(&self) -> Option<&[u8; N]> {
        // SAFETY: as in `len`.
        let (len, data_len) = unsafe { ((*self.raw()).len, (*self.raw()).data_len) };
        if (len.checked_sub(data_len)? as usize) < N {
            return None;
        }
        // SAFETY: the first `N` bytes from `data` lie in the linear area
        // (checked above), which lives as long as the skb and cannot change
        // while `self` is borrowed.
        Some(unsafe { &*(*self.raw()).data.cast::<[u8; N]>() })
    }

    /// `len` bytes at `offset`: in place if linear, else copied into `buf`
    /// (which must be at least `len` long). `None` if the packet is shorter.
    #[inline]
    pub(crate) fn header<'b>(
        &'b self,
        offset: usize,
        len: usize,
        buf: &'b mut [u8],
    ) -> Option<&'b [u8]> {
        let end = offset.checked_add(len)?;
        if end <= self.headlen() {
            // SAFETY: `[data + offset, data + end)` lies in the linear area
            // (checked above), which lives as long as the skb and cannot
            // change while `self` is borrowed.
            return Some(unsafe {
                core::slice::from_raw_parts((*self.raw()).data.add(offset), len)
            });
        }
        if end > self.len() || buf.len() < len {
            return None;
        }
        // SAFETY: `skb_copy_bits` reads `len` bytes at `offset`, within
        // the packet (checked), into `buf`, which has room for them.
        let ret = unsafe {
            bindings::skb_copy_bits(
                self.raw(),
                offset as i32,
                buf.as_mut_ptr().cast(),
                len as i32,
            )
        };
        (ret == 0).then_some(&buf[..len])
    }

    /// Removes `gap` bytes that follow the first `headers` bytes (the
    /// network headers), moving the headers forward rather than the
    /// payload, then lets `edit` rewrite the moved headers (lengths,
    /// protocol, checksum).
    ///
    /// Afterwards the network and transport header offsets point at the
    /// same headers as before, and a `CHECKSUM_COMPLETE` sum covers the new
    /// bytes: the old headers and gap are subtracted, the edited headers
    /// added. On error (no memory to unshare a clone) nothing has changed.
    pub(crate) fn remove_after_headers(
        &mut self,
        headers: usize,
        gap: usize,
        edit: impl FnOnce(&mut [u8]),
    ) -> Result {
        let total = headers.checked_add(gap).ok_or(EINVAL)?;
        if total > self.len() {
            return Err(EINVAL);
        }
        // SAFETY: `raw()` is valid; this unshares and linearises the first
        // `total` bytes (or fails, changing nothing).
        to_result(unsafe { bindings::skb_ensure_writable(self.raw(), total as u32) })?;
        // SAFETY: read after `skb_ensure_writable`, which may move the data.
        let data = unsafe { (*self.raw()).data };
        // SAFETY: `[data, data + total)` is linear, writable and ours (just
        // ensured, and `&mut self` is exclusive); the kernel helpers adjust
        // `skb->csum`, `data`, `len` and the header offsets consistently.
        unsafe {
            b::uoa_skb_postpull_rcsum(self.raw(), data.cast(), total as u32);
            core::ptr::copy(data, data.add(gap), headers);
            b::uoa_skb_pull_headers(self.raw(), gap as u32);
            edit(core::slice::from_raw_parts_mut(data.add(gap), headers));
            b::uoa_skb_postpush_rcsum(self.raw(), data.add(gap).cast(), headers as u32);
        }
        Ok(())
    }
}
