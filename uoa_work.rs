// SPDX-License-Identifier: GPL-2.0

//! Periodic work (a self-requeueing `delayed_work`) that is cancelled, and
//! waited for, on drop: the table sweeper.

use kernel::{bindings, container_of, ffi::c_ulong, prelude::*, sync::Arc, types::Opaque};

use crate::uoa_bindings as b;

/// What runs every period, in process context.
pub(crate) trait Periodic: Send + Sync + 'static {
    /// One run.
    fn run(&self);
}

/// `T::run` every `period` jiffies until dropped.
///
/// # Invariants
///
/// `work` is an initialised `delayed_work` whose function is
/// `run_trampoline::<T>`; it is queued or running until `drop` cancels it.
#[pin_data(PinnedDrop)]
pub(crate) struct PeriodicWork<T: Periodic> {
    #[pin]
    work: Opaque<bindings::delayed_work>,
    period: c_ulong,
    target: Arc<T>,
}

// SAFETY: the work item is only handed to the workqueue API, which may be
// used from any thread; `T` is `Send + Sync`.
unsafe impl<T: Periodic> Send for PeriodicWork<T> {}
// SAFETY: `&PeriodicWork` gives access to `target` only, which is `Sync`.
unsafe impl<T: Periodic> Sync for PeriodicWork<T> {}

impl<T: Periodic> PeriodicWork<T> {
    /// Starts running `target` every `period` jiffies (at least 1).
    pub(crate) fn start(target: Arc<T>, period: c_ulong) -> Result<Pin<KBox<Self>>> {
        let period = period.max(1);
        let this = KBox::pin_init(
            pin_init!(Self {
                // SAFETY: `INIT_DELAYED_WORK` initialises the memory it is given.
                work <- Opaque::ffi_init(|p| unsafe { b::uoa_init_delayed_work(p, Some(run_trampoline::<T>)) }),
                period,
                target,
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `work` is initialised and pinned; `drop` cancels it.
        unsafe { b::uoa_queue_delayed_work(this.work.get(), period) };
        Ok(this)
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
    this.target.run();
    // SAFETY: requeueing from the work itself; `cancel_delayed_work_sync`
    // in `drop` makes this fail once cancelling has begun.
    unsafe { b::uoa_queue_delayed_work(this.work.get(), this.period) };
}
