// SPDX-License-Identifier: GPL-2.0

//! Netfilter: hooks registered in one network namespace, and the global
//! `getsockopt` handler, as small typed wrappers over the C API.
//!
//! A user implements [`PacketHandler`] (per namespace) or [`SockoptGet`];
//! the `extern "C"` trampolines here are the only code that touches the raw
//! pointers netfilter passes in.

use core::marker::PhantomData;

use kernel::{
    bindings,
    error::to_result,
    ffi::{c_int, c_uint, c_void},
    prelude::*,
    sync::Arc,
    types::Opaque,
    uaccess::UserPtr,
    ThisModule,
};

use crate::{uoa_bindings as b, uoa_rcu::RcuSection, uoa_skb::Skb};

/// Where in the stack a hook sees a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Chain {
    /// Addressed to this namespace (`NF_INET_LOCAL_IN`).
    LocalIn,
    /// Routed on through this namespace (`NF_INET_FORWARD`).
    Forward,
}

/// One call of a hook: where it sits, and the RCU read-side section
/// netfilter runs it in.
#[derive(Clone, Copy)]
pub(crate) struct HookCall<'a> {
    pub(crate) chain: Chain,
    pub(crate) rcu: RcuSection<'a>,
}

/// What becomes of a packet after a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Verdict {
    /// It goes on through the stack (`NF_ACCEPT`).
    Accept = b::NF_ACCEPT,
    /// It is dropped and freed (`NF_DROP`).
    Drop = b::NF_DROP,
}

/// What a namespace's packet hooks do with each packet.
pub(crate) trait PacketHandler: Send + Sync {
    /// An IPv4 packet; `skb` starts at the IPv4 header.
    fn ipv4(&self, skb: &mut Skb, call: HookCall<'_>) -> Verdict;
    /// An IPv6 packet; `skb` starts at the IPv6 header.
    fn ipv6(&self, skb: &mut Skb, call: HookCall<'_>) -> Verdict;
}

/// Where a hook sits.
#[derive(Clone, Copy)]
pub(crate) struct HookPoint {
    /// `NFPROTO_IPV4` or `NFPROTO_IPV6`.
    pf: u8,
    /// `NF_INET_LOCAL_IN`, `NF_INET_FORWARD`, ...
    hooknum: u32,
    /// Position in the chain (ascending).
    priority: i32,
}

impl HookPoint {
    /// An IPv4 hook.
    pub(crate) const fn ipv4(hooknum: u32, priority: i32) -> Self {
        Self {
            pf: b::NFPROTO_IPV4 as u8,
            hooknum,
            priority,
        }
    }

    /// An IPv6 hook.
    pub(crate) const fn ipv6(hooknum: u32, priority: i32) -> Self {
        Self {
            pf: b::NFPROTO_IPV6 as u8,
            hooknum,
            priority,
        }
    }
}

/// Hooks registered in one network namespace.
///
/// Unregistering does not end netfilter's use of the ops and the handler at
/// once: hooks already running on other CPUs, and RCU readers of the hook
/// lists such as nfnetlink's hook dump (`nft list hooks`), may read them
/// until an RCU grace period has passed. [`unregister`](Self::unregister)
/// therefore hands them over as [`RetiredHooks`], to be freed after one;
/// dropping a registration unregisters and waits for one itself.
///
/// # Invariants
///
/// `ops` are registered in `net` with `priv` pointing at `*handler`; `net`
/// outlives `self` (the owner drops `self` in the namespace's exit).
pub(crate) struct HookRegistration<T: PacketHandler> {
    hooks: RetiredHooks<T>,
}

/// Hooks unregistered from netfilter, whose ops and handler may still be
/// read until an RCU grace period has passed since. Dropping waits for one
/// (`synchronize_rcu`); [`free_after_grace_period`](Self::free_after_grace_period)
/// frees at once when the caller knows one has passed.
pub(crate) struct RetiredHooks<T: PacketHandler> {
    net: *mut bindings::net,
    ops: KVec<b::nf_hook_ops>,
    /// What `priv` points at.
    handler: Arc<T>,
}

// SAFETY: the raw pointers are only used to unregister, which is allowed
// from any thread; `T` is `Send + Sync`.
unsafe impl<T: PacketHandler> Send for RetiredHooks<T> {}
// SAFETY: `&RetiredHooks` gives no access to anything.
unsafe impl<T: PacketHandler> Sync for RetiredHooks<T> {}

impl<T: PacketHandler> HookRegistration<T> {
    /// Registers `points` in `net`; every packet there goes to `handler`,
    /// which the registration keeps alive until a grace period after it is
    /// unregistered.
    ///
    /// # Safety
    ///
    /// `net` is a live namespace that outlives the returned value.
    pub(crate) unsafe fn new(
        net: *mut bindings::net,
        points: &[HookPoint],
        handler: Arc<T>,
    ) -> Result<Self> {
        let mut ops = KVec::with_capacity(points.len(), GFP_KERNEL)?;
        for p in points {
            // One trampoline per family and chain, so that neither is
            // decided per packet.
            const V4: u8 = b::NFPROTO_IPV4 as u8;
            const V6: u8 = b::NFPROTO_IPV6 as u8;
            let forward = p.hooknum == b::nf_inet_hooks_NF_INET_FORWARD;
            let hook: b::nf_hookfn = match (p.pf, forward) {
                (V4, false) => Some(hook_trampoline::<T, V4, false>),
                (V4, true) => Some(hook_trampoline::<T, V4, true>),
                (_, false) => Some(hook_trampoline::<T, V6, false>),
                (_, true) => Some(hook_trampoline::<T, V6, true>),
            };
            ops.push(
                b::nf_hook_ops {
                    hook,
                    priv_: Arc::as_ptr(&handler).cast_mut().cast(),
                    pf: p.pf,
                    hooknum: p.hooknum,
                    priority: p.priority,
                    ..Default::default()
                },
                GFP_KERNEL,
            )?;
        }
        // SAFETY: `net` is live (caller); `ops` is a heap array that stays
        // put until it is freed, a grace period after unregistering (no
        // push after this point).
        to_result(unsafe { b::nf_register_net_hooks(net, ops.as_ptr(), ops.len() as u32) })?;
        // INVARIANT: registered just now with `priv` = `handler`.
        Ok(Self {
            hooks: RetiredHooks { net, ops, handler },
        })
    }

    /// Unregisters the hooks: no new packet reaches the handler. What
    /// readers in flight may still use comes back, to be freed after a
    /// grace period.
    pub(crate) fn unregister(self) -> RetiredHooks<T> {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is not used again, nor dropped; `hooks` is moved
        // out once.
        let hooks = unsafe { core::ptr::read(&this.hooks) };
        // SAFETY: registered in `hooks.net` (invariant), which is live.
        unsafe {
            b::nf_unregister_net_hooks(hooks.net, hooks.ops.as_ptr(), hooks.ops.len() as u32)
        };
        hooks
    }
}

impl<T: PacketHandler> Drop for HookRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: registered in `self.hooks.net` (invariant), which is
        // live. The `RetiredHooks` dropped next waits for the grace period
        // before freeing the ops and the handler.
        unsafe {
            b::nf_unregister_net_hooks(
                self.hooks.net,
                self.hooks.ops.as_ptr(),
                self.hooks.ops.len() as u32,
            )
        };
    }
}

impl<T: PacketHandler> RetiredHooks<T> {
    /// Frees the ops and drops the handler reference without waiting.
    ///
    /// # Safety
    ///
    /// An RCU grace period has passed since the hooks were unregistered
    /// (as between a namespace's `pre_exit` and its `exit`).
    pub(crate) unsafe fn free_after_grace_period(self) {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: moved out once each, `this` is not used or dropped again;
        // no reader is left (caller), so they may go now.
        unsafe {
            drop(core::ptr::read(&this.ops));
            drop(core::ptr::read(&this.handler));
        }
    }
}

impl<T: PacketHandler> Drop for RetiredHooks<T> {
    fn drop(&mut self) {
        // Readers of the unregistered ops may remain until a grace period
        // has passed; `ops` and `handler` are freed after this.
        kernel::sync::rcu::synchronize_rcu();
    }
}

/// IPv6 reassembly before the hooks in one namespace (the kernel's
/// `nf_defrag_ipv6`, as conntrack uses), so that LOCAL_IN sees whole IPv6
/// datagrams as it does IPv4 ones, and an opp header in a fragmented
/// datagram is removed. Released on drop. Without the defragmenter in the
/// kernel it does nothing: fragments are then counted and left alone.
///
/// # Invariants
///
/// `net` outlives `self`; if `enabled`, the defragmenter was enabled in
/// `net` by this value.
pub(crate) struct Ipv6Defrag {
    net: *mut bindings::net,
    enabled: bool,
}

// SAFETY: `net` is only used to release, which is allowed from any thread.
unsafe impl Send for Ipv6Defrag {}
// SAFETY: `&Ipv6Defrag` gives no access to anything.
unsafe impl Sync for Ipv6Defrag {}

impl Ipv6Defrag {
    /// Enables the defragmenter in `net`, if the kernel has one.
    ///
    /// # Safety
    ///
    /// `net` is a live namespace that outlives the returned value.
    pub(crate) unsafe fn new(net: *mut bindings::net) -> Result<Self> {
        // SAFETY: `net` is live (caller).
        let enabled = match unsafe { b::uoa_defrag6_enable(net) } {
            // The kernel has no defragmenter (the wrapper says so).
            e if e == EOPNOTSUPP.to_errno() => false,
            e => to_result(e).map(|()| true)?,
        };
        // INVARIANT: enabled just now if `enabled`.
        Ok(Self { net, enabled })
    }
}

impl Drop for Ipv6Defrag {
    fn drop(&mut self) {
        if self.enabled {
            // SAFETY: enabled by `new` in `net`, which is live (invariants).
            unsafe { b::uoa_defrag6_disable(self.net) };
        }
    }
}

/// The hook function netfilter calls; `PF` says which family it serves.
///
/// # Safety
///
/// Called by netfilter only, for ops registered by `HookRegistration<T>`:
/// `priv_` is that registration's `Arc<T>` pointer and `skb` the packet.
unsafe extern "C" fn hook_trampoline<T: PacketHandler, const PF: u8, const FORWARD: bool>(
    priv_: *mut c_void,
    skb: *mut bindings::sk_buff,
    _state: *const b::nf_hook_state,
) -> c_uint {
    // SAFETY: `priv_` is the handler of a registration, which keeps it
    // until an RCU grace period after unregistering, and netfilter runs
    // hooks inside an RCU read-side section.
    let handler = unsafe { &*priv_.cast::<T>() };
    // The benchmark's floor (`make FLOOR=1`): a hook that does nothing.
    if cfg!(uoa_floor) {
        return b::NF_ACCEPT;
    }
    // SAFETY: netfilter hands the hook exclusive use of `skb` for the call,
    // with `data` at the network header, which the stack has pulled into
    // the linear area (at least 20 bytes for IPv4, 40 for IPv6).
    let skb = unsafe { Skb::from_raw(skb) };
    // SAFETY: `nf_hook()` calls hooks inside `rcu_read_lock()`, for the
    // whole of this call.
    let rcu = unsafe { RcuSection::assume() };
    let call = HookCall {
        chain: if FORWARD {
            Chain::Forward
        } else {
            Chain::LocalIn
        },
        rcu,
    };
    let verdict = if PF == b::NFPROTO_IPV4 as u8 {
        handler.ipv4(skb, call)
    } else {
        handler.ipv6(skb, call)
    };
    verdict as c_uint
}

/// A `getsockopt` option range served by this module.
pub(crate) trait SockoptGet {
    /// Option numbers `[MIN, MAX)`.
    const RANGE: core::ops::Range<i32>;

    /// Answers option `optval` for socket `sock`: `user` is the caller's
    /// buffer of `*len` bytes (check it before use); set `*len` to what
    /// was written.
    fn get(sock: &SockRef, optval: i32, user: UserPtr, len: &mut i32) -> Result;
}

/// The socket a `getsockopt` is made on, for the call.
///
/// # Invariants
///
/// The pointer is a socket live for the call.
pub(crate) struct SockRef(*mut bindings::sock);

impl SockRef {
    /// Its network namespace, live while the socket is.
    pub(crate) fn net(&self) -> *mut bindings::net {
        // SAFETY: the socket is live (invariant).
        unsafe { b::uoa_sock_net(self.0) }
    }

    /// Whether it is a UDP socket (IPv4 or IPv6).
    pub(crate) fn is_udp(&self) -> bool {
        // SAFETY: the socket is live (invariant).
        unsafe { b::uoa_sock_is_udp(self.0) }
    }
}

/// The registered `nf_sockopt_ops`; unregistered on drop.
///
/// # Invariants
///
/// `ops` is registered with netfilter and pinned on the heap.
pub(crate) struct SockoptRegistration<T: SockoptGet> {
    ops: Pin<KBox<Opaque<b::nf_sockopt_ops>>>,
    _handler: PhantomData<T>,
}

// SAFETY: netfilter serialises registration with its own mutex; the ops
// are only touched by it after registration.
unsafe impl<T: SockoptGet> Send for SockoptRegistration<T> {}
// SAFETY: `&SockoptRegistration` gives no access to anything.
unsafe impl<T: SockoptGet> Sync for SockoptRegistration<T> {}

impl<T: SockoptGet> SockoptRegistration<T> {
    /// Registers `T` for `PF_INET` get options in `T::RANGE`.
    pub(crate) fn new(module: &'static ThisModule) -> Result<Self> {
        let ops = KBox::pin(
            Opaque::new(b::nf_sockopt_ops {
                pf: bindings::PF_INET as u8,
                get_optmin: T::RANGE.start,
                get_optmax: T::RANGE.end,
                get: Some(sockopt_get_trampoline::<T>),
                owner: module.as_ptr(),
                ..Default::default()
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `ops` is initialised and pinned until `drop` unregisters.
        to_result(unsafe { b::nf_register_sockopt(ops.get()) })?;
        // INVARIANT: registered just now.
        Ok(Self {
            ops,
            _handler: PhantomData,
        })
    }
}

impl<T: SockoptGet> Drop for SockoptRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: registered (invariant). Callers in flight hold a module
        // reference (`owner`), so none runs once the module is unloading.
        unsafe { b::nf_unregister_sockopt(self.ops.get()) };
    }
}

/// # Safety
///
/// Called by netfilter only: `sk` is a live socket, `user` a user pointer,
/// `len` points at the caller's buffer length.
unsafe extern "C" fn sockopt_get_trampoline<T: SockoptGet>(
    sk: *mut bindings::sock,
    optval: c_int,
    user: *mut c_void,
    len: *mut c_int,
) -> c_int {
    // SAFETY: `len` points at the caller's length for the call.
    let len = unsafe { &mut *len };
    // INVARIANT: `sk` is live for the call (netfilter's contract).
    // A plain match rather than `from_result`, which stays out of line:
    // every lookup passes here.
    match T::get(&SockRef(sk), optval, UserPtr::from_ptr(user), len) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
