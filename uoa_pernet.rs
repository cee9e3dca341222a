// SPDX-License-Identifier: GPL-2.0

//! Per-network-namespace state: one [`NetState`](crate::NetState) per
//! namespace, existing and future, made by `pernet_operations`.
//!
//! The state is a `KBox` whose pointer sits in the namespace's `net_generic`
//! slot from `init` to `exit`.

use kernel::{
    bindings,
    error::{from_result, to_result},
    ffi::{c_int, c_uint},
    prelude::*,
    types::Opaque,
};

use crate::{uoa_bindings as b, NetState};

/// The registered `pernet_operations` and its `net_generic` id.
struct PernetOps {
    ops: Opaque<bindings::pernet_operations>,
    id: Opaque<c_uint>,
}

// SAFETY: the kernel serialises all accesses to `ops` (pernet_ops_rwsem);
// `id` is written once by `register_pernet_subsys` before any reader.
unsafe impl Sync for PernetOps {}

static PERNET: PernetOps = PernetOps {
    ops: Opaque::uninit(),
    id: Opaque::new(0),
};

/// Registration of the per-namespace state; unregistered on drop, which
/// runs every namespace's exit.
pub(crate) struct PernetRegistration(());

impl PernetRegistration {
    /// Makes a `NetState` in every namespace now and in every new one.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: not registered yet, so nothing else reads `PERNET.ops`
        // (one module instance; `Drop` unregisters before unload).
        unsafe {
            PERNET.ops.get().write(bindings::pernet_operations {
                init: Some(net_init),
                pre_exit: Some(net_pre_exit),
                exit: Some(net_exit),
                id: PERNET.id.get(),
                size: core::mem::size_of::<*mut NetState>(),
                ..Default::default()
            })
        };
        // SAFETY: `ops` is initialised and static.
        to_result(unsafe { bindings::register_pernet_subsys(PERNET.ops.get()) })?;
        Ok(Self(()))
    }
}

impl Drop for PernetRegistration {
    fn drop(&mut self) {
        // SAFETY: registered in `new`.
        unsafe { bindings::unregister_pernet_subsys(PERNET.ops.get()) };
    }
}

/// The slot of `net` that holds its state pointer.
///
/// # Safety
///
/// `net` is live and the registration is in place.
unsafe fn slot(net: *const bindings::net) -> *mut *mut NetState {
    // SAFETY: `id` was set at registration; `net` is live (caller).
    unsafe { b::uoa_net_generic(net, *PERNET.id.get()) }.cast()
}

/// The state of `net`, if the module is set up there.
///
/// # Safety
///
/// `net` is live for `'a` (e.g. a socket of it is held).
pub(crate) unsafe fn state<'a>(net: *const bindings::net) -> Option<&'a NetState> {
    // SAFETY: `net` is live (caller); the slot is set in `net_init` before
    // anything can reach it and cleared only in `net_exit`, which cannot
    // run while `net` is held.
    unsafe { (*slot(net)).as_ref() }
}

/// # Safety
///
/// Called by the namespace code only, with a namespace being set up.
unsafe extern "C" fn net_init(net: *mut bindings::net) -> c_int {
    from_result(|| {
        // SAFETY: the kernel calls `init` with a live namespace.
        let state = unsafe { NetState::new(net) }?;
        // SAFETY: `net` is live; the slot was allocated and zeroed for us.
        unsafe { *slot(net) = KBox::into_raw(state) };
        Ok(0)
    })
}

/// # Safety
///
/// Called by the namespace code only, with a namespace going away whose
/// `net_init` succeeded. An RCU grace period follows before `net_exit`,
/// shared by all namespaces going away together.
unsafe extern "C" fn net_pre_exit(net: *mut bindings::net) {
    // SAFETY: `net` is live; no socket of it is left, so no lookup holds a
    // reference to its state, and nothing else mutates the state.
    if let Some(state) = unsafe { (*slot(net)).as_mut() } {
        state.stop_hooks();
    }
}

/// # Safety
///
/// Called by the namespace code only, with a namespace going away whose
/// `net_init` succeeded.
unsafe extern "C" fn net_exit(net: *mut bindings::net) {
    // SAFETY: `net` is live until `exit` returns.
    let slot = unsafe { slot(net) };
    // SAFETY: `slot` is valid (above); nothing else uses it during exit.
    let state = unsafe { core::ptr::replace(slot, core::ptr::null_mut()) };
    if !state.is_null() {
        // SAFETY: the pointer came from `KBox::into_raw` in `net_init`.
        let mut state = unsafe { KBox::from_raw(state) };
        // SAFETY: `pre_exit` stopped the hooks, and the namespace code let
        // a grace period pass before calling `exit`.
        unsafe { state.free_stopped_hooks() };
        drop(state);
    }
}
