// SPDX-License-Identifier: GPL-2.0

//! A safe view of the `sk_buff` a netfilter hook is handed.
//!
//! Reads follow `skb_header_pointer()`: a slice of the linear area when the
//! bytes are there, else a copy into the caller's buffer (non-linear skbs).
//! A returned slice borrows the skb, so the borrow checker rules out using
//! header bytes across anything that may move them (which takes `&mut`).

use core::mem::MaybeUninit;

use kernel::{bindings, prelude::*, types::Opaque};

use crate::uoa_bindings as b;

/// Bytes from `data` that every [`Skb`] holds in its linear area: the
/// fixed IPv4 header, and half the fixed IPv6 one.
pub(crate) const LINEAR_MIN: usize = 20;

/// A buffer for [`Skb::header`] to copy bytes into when they are not in the
/// linear area; left uninitialised, since it is written before it is read.
pub(crate) type HeaderBuf<const N: usize> = [MaybeUninit<u8>; N];

/// An empty [`HeaderBuf`] (no bytes written: nothing to pay).
#[inline(always)]
pub(crate) const fn header_buf<const N: usize>() -> HeaderBuf<N> {
    [MaybeUninit::uninit(); N]
}

/// A packet in a netfilter hook; `data` points at the network header.
///
/// # Invariants
///
/// The first [`LINEAR_MIN`] bytes from `data` are in the linear area. At
/// the IPv4 and IPv6 hooks the stack has pulled the whole network header
/// there before any hook runs (`ip_rcv_core()` the `ihl * 4` bytes,
/// `ip6_rcv_core()` the 40 fixed ones), which is why iptables and nftables
/// read `ip_hdr()` there without a check.
#[repr(transparent)]
pub(crate) struct Skb(Opaque<bindings::sk_buff>);

impl Skb {
    /// Wraps the skb of a hook invocation.
    ///
    /// # Safety
    ///
    /// `ptr` is a valid `sk_buff` owned by the caller for `'a`, and nothing
    /// else accesses it during `'a`; `data` points at its network header
    /// and the first [`LINEAR_MIN`] bytes from it are in the linear area
    /// (true for every packet an IPv4 or IPv6 hook is given).
    #[inline(always)]
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::sk_buff) -> &'a mut Skb {
        // SAFETY: `Skb` is a transparent wrapper of `sk_buff`; validity,
        // exclusivity and the linear bytes (the invariant) are the caller's
        // promise.
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

    /// Whether it is a GSO packet (one header for several datagrams).
    #[inline]
    pub(crate) fn is_gso(&self) -> bool {
        // SAFETY: `raw()` is valid (constructor contract).
        unsafe { b::uoa_skb_is_gso(self.raw()) }
    }

    /// Bytes from `data` to the end of the linear area.
    #[inline]
    fn headlen(&self) -> usize {
        // SAFETY: as in `len`.
        unsafe { ((*self.raw()).len - (*self.raw()).data_len) as usize }
    }

    /// The first `N` bytes of the network header, in place: no check is
    /// needed, the type invariant guarantees them.
    #[inline(always)]
    pub(crate) fn network_prefix<const N: usize>(&self) -> &[u8; N] {
        const { assert!(N <= LINEAR_MIN) };
        // SAFETY: the first `LINEAR_MIN >= N` bytes from `data` lie in the
        // linear area (invariant), which lives as long as the skb and cannot
        // change while `self` is borrowed.
        unsafe { &*(*self.raw()).data.cast::<[u8; N]>() }
    }

    /// The first `N` bytes of the network header, in place, if the linear
    /// area holds them (`None` otherwise; the packet may still be that
    /// long, in fragments, which `header` reads).
    #[inline(always)]
    pub(crate) fn linear_prefix<const N: usize>(&self) -> Option<&[u8; N]> {
        if self.headlen() < N {
            return None;
        }
        // SAFETY: the linear area holds at least `N` bytes from `data`
        // (just checked); it lives as long as the skb and cannot change
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
        buf: &'b mut [MaybeUninit<u8>],
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
        self.copy_header(offset, len, buf)
    }

    /// `header` for bytes outside the linear area (rare: off the inline
    /// path).
    #[inline(never)]
    fn copy_header<'b>(
        &'b self,
        offset: usize,
        len: usize,
        buf: &'b mut [MaybeUninit<u8>],
    ) -> Option<&'b [u8]> {
        if offset.checked_add(len)? > self.len() || buf.len() < len {
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
        // SAFETY: on success `skb_copy_bits` wrote all `len` bytes.
        (ret == 0).then(|| unsafe { core::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), len) })
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
    ///
    /// Inline, so that where `headers` is a constant the move of the
    /// headers is a few loads and stores rather than a call to `memmove`.
    #[inline(always)]
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
        if unsafe { bindings::skb_ensure_writable(self.raw(), total as u32) } != 0 {
            return Err(ENOMEM);
        }
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
