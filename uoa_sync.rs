// SPDX-License-Identifier: GPL-2.0

//! A spinlock that also disables bottom halves (`spin_lock_bh`), built on
//! the kernel crate's generic `Lock`.
//!
//! The mapping table is written from softirq (packets) and from process
//! context (the sweeper, tests): process context must keep softirqs off
//! while it holds the lock, or a packet on the same CPU would deadlock.

use kernel::{
    bindings,
    ffi::c_char,
    sync::lock::{Backend, Lock},
};

use crate::uoa_bindings as b;

/// `spin_lock_bh()` / `spin_unlock_bh()`.
pub(crate) struct SpinLockBhBackend;

/// A spinlock taken with bottom halves disabled.
pub(crate) type SpinLockBh<T> = Lock<T, SpinLockBhBackend>;

// SAFETY: `spin_lock_bh` gives mutual exclusion between all contexts that
// take it; `GuardState` is empty, and unlocking needs nothing else.
unsafe impl Backend for SpinLockBhBackend {
    type State = bindings::spinlock_t;
    type GuardState = ();

    unsafe fn init(ptr: *mut Self::State, name: *const c_char, key: *mut bindings::lock_class_key) {
        // SAFETY: `ptr` is valid for writes, `name` and `key` live forever
        // (the trait's requirements).
        unsafe { bindings::__spin_lock_init(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: `ptr` points at an initialised lock (trait requirement).
        unsafe { b::uoa_spin_lock_bh(ptr) }
    }

    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: as in `lock`.
        (unsafe { b::uoa_spin_trylock_bh(ptr) } != 0).then_some(())
    }

    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: the caller holds the lock (trait requirement).
        unsafe { b::uoa_spin_unlock_bh(ptr) }
    }

    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // SAFETY: `ptr` points at an initialised lock.
        unsafe { bindings::spin_assert_is_held(ptr) }
    }
}
