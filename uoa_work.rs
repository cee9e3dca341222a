// SPDX-License-Identifier: GPL-2.0

//! Periodic work embedded in its owner: a `delayed_work` that runs every
//! period while its owner has work, sleeps when it has none, and is kicked
//! awake when work comes; cancelled, and waited for, on drop. The table
//! sweeper: an idle namespace (no mapping) runs nothing.
//!
//! Sleeping and kicking meet on `idle` with full barriers on both sides:
//! the run about to sleep sets it and then looks for work once more, a
//! kick records work (before calling `kick`) and then clears it. Either the
//! run sees the work, or the kick sees `idle` set and queues the work, so
//! none is left without a sweeper.

use core::marker::PhantomData;

use kernel::{
    bindings, container_of,
    ffi::c_ulong,
    prelude::*,
    sync::atomic::{Atomic, Full, Relaxed},
    types::Opaque,
};

use crate::uoa_bindings as b;

/// The owner of a [`PeriodicWork`] field, and what it runs.
///
/// # Safety
///
/// `WORK_OFFSET` is the offset in `Self` of a field of type
/// `PeriodicWork<Self>`.
pub(crate) unsafe trait Periodic: Sync + Sized + 'static {
    /// Where the `PeriodicWork<Self>` field is.
    const WORK_OFFSET: usize;

    /// One run, in process context.
    fn run(&self);

    /// Whether there is work for another run. The work that makes this
    /// true must be recorded with a full barrier (or before one) ahead of
    /// the `kick` that announces it.
    fn has_work(&self) -> bool;
}

/// `T::run` every `period` jiffies while `T::has_work`, asleep otherwise.
///
/// # Invariants
///
/// `work` is an initialised `delayed_work` whose function is
/// `run_trampoline::<T>`, inside a `T` at `T::WORK_OFFSET`; it is not
/// queued while `idle` is 1 (but may be finishing a run).
#[pin_data(PinnedDrop)]
pub(crate) struct PeriodicWork<T: Periodic> {
    #[pin]
    work: Opaque<bindings::delayed_work>,
    period: c_ulong,
    /// 1: asleep, the next kick queues a run.
    idle: Atomic<i32>,
    _owner: PhantomData<fn(&T)>,
}

// SAFETY: the work item is only handed to the workqueue API, which may be
// used from any thread; the rest is atomics and plain data.
unsafe impl<T: Periodic> Send for PeriodicWork<T> {}
// SAFETY: as above; `&PeriodicWork` only kicks.
unsafe impl<T: Periodic> Sync for PeriodicWork<T> {}

impl<T: Periodic> PeriodicWork<T> {
    /// Work that runs every `period` jiffies (at least 1) once kicked;
    /// asleep until then.
    pub(crate) fn new(period: c_ulong) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `INIT_DELAYED_WORK` initialises the memory it is given.
            work <- Opaque::ffi_init(|p| unsafe { b::uoa_init_delayed_work(p, Some(run_trampoline::<T>)) }),
            period: period.max(1),
            idle: Atomic::new(1),
            _owner: PhantomData,
        })
    }

    /// Wakes the work if it sleeps: a run within a period. Any context;
    /// cheap when awake (one load).
    #[inline]
    pub(crate) fn kick(&self) {
        if self.idle.load(Relaxed) == 1 && self.idle.xchg(0, Full) == 1 {
            // INVARIANT: `idle` is 0 now that it is queued.
            // SAFETY: `work` is initialised and pinned (invariant); `drop`
            // cancels it.
            unsafe { b::uoa_queue_delayed_work(self.work.get(), self.period) };
        }
    }

    /// Whether it sleeps.
    #[cfg(uoa_kunit)]
    pub(crate) fn is_idle(&self) -> bool {
        self.idle.load(Relaxed) == 1
    }
}

#[pinned_drop]
impl<T: Periodic> PinnedDrop for PeriodicWork<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `work` is initialised (invariant). This waits for a running
        // instance and stops it from requeueing itself.
        unsafe { bindings::cancel_delayed_work_sync(self.work.get()) };
    }
}

/// # Safety
///
/// Called by the workqueue only, for the work of a live `PeriodicWork<T>`.
unsafe extern "C" fn run_trampoline<T: Periodic>(work: *mut bindings::work_struct) {
    // `work` is the first field of `delayed_work`.
    let dwork = work.cast::<bindings::delayed_work>();
    // SAFETY: `dwork` is the `work` field of a `PeriodicWork<T>` (invariant:
    // only such works use this function), alive until cancelled.
    let this = unsafe { &*container_of!(Opaque::cast_from(dwork), PeriodicWork<T>, work) };
    // SAFETY: that `PeriodicWork<T>` is the field at `T::WORK_OFFSET` of a
    // live `T` (invariant and `Periodic` safety), which outlives the work:
    // dropping the field cancels it first.
    let owner = unsafe {
        &*core::ptr::from_ref(this)
            .cast::<u8>()
            .sub(T::WORK_OFFSET)
            .cast::<T>()
    };
    owner.run();
    let again = owner.has_work() || {
        // Going to sleep: unless work came meanwhile, in which case either
        // its kick sees `idle` set (and queues), or this sees the work.
        this.idle.xchg(1, Full);
        owner.has_work() && this.idle.xchg(0, Full) == 1
    };
    if again {
        // SAFETY: requeueing from the work itself; `cancel_delayed_work_sync`
        // in `drop` makes this fail once cancelling has begun.
        unsafe { b::uoa_queue_delayed_work(this.work.get(), this.period) };
    }
}
