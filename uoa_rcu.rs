// SPDX-License-Identifier: GPL-2.0

//! [`RcuSection`]: proof, checked by the borrow checker, that code runs
//! inside an RCU read-side critical section.
//!
//! Netfilter calls every hook inside `rcu_read_lock()` (`nf_hook()`), so
//! the packet path need not take the read lock again for each table or
//! list it reads: the hook makes one `RcuSection` and lends it down.
//! Process context (the lookup, the tests) takes the lock and borrows the
//! section from its guard.

use core::marker::PhantomData;

use kernel::sync::rcu;

/// An RCU read-side critical section lasting at least `'a`. Neither `Send`
/// nor `Sync`: a section belongs to the CPU (and task) that entered it.
/// A copy proves the same section, no longer: it is passed by value, so
/// that the packet path holds no pointer to it.
#[derive(Clone, Copy)]
pub(crate) struct RcuSection<'a>(PhantomData<(&'a (), *mut ())>);

impl<'a> RcuSection<'a> {
    /// The section `guard` holds.
    #[inline(always)]
    pub(crate) fn of(_guard: &'a rcu::Guard) -> Self {
        Self(PhantomData)
    }

    /// The section the caller is in.
    ///
    /// # Safety
    ///
    /// The caller runs inside an RCU read-side critical section that lasts
    /// for all of `'a`, as a netfilter hook does for its call.
    #[inline(always)]
    pub(crate) unsafe fn assume() -> Self {
        Self(PhantomData)
    }
}
