// SPDX-License-Identifier: GPL-2.0

//! Read-only `/proc` files backed by a Rust `show` function.

use kernel::{
    bindings,
    ffi::{c_int, c_void},
    prelude::*,
    seq_file::SeqFile,
    str::CStr,
    sync::Arc,
};

use crate::uoa_bindings as b;

/// The content of a `/proc` file, printed whole on each read.
pub(crate) trait ProcShow: Send + Sync {
    /// Prints the file into `m`.
    fn show(&self, m: &SeqFile);
}

/// A `/proc` file; removed on drop.
///
/// # Invariants
///
/// `name` is registered under `parent` with `data` as its private pointer;
/// `parent` outlives `self`.
pub(crate) struct ProcEntry<T: ProcShow> {
    parent: *mut bindings::proc_dir_entry,
    name: &'static CStr,
    data: Arc<T>,
}

// SAFETY: removal may happen from any thread; `T` is `Send + Sync`.
unsafe impl<T: ProcShow> Send for ProcEntry<T> {}
// SAFETY: `&ProcEntry` gives no access to anything.
unsafe impl<T: ProcShow> Sync for ProcEntry<T> {}

impl<T: ProcShow> ProcEntry<T> {
    /// Creates `parent/name`, mode 0444, showing `data`.
    ///
    /// # Safety
    ///
    /// `parent` is a live proc directory that outlives the returned value.
    pub(crate) unsafe fn new(
        parent: *mut bindings::proc_dir_entry,
        name: &'static CStr,
        data: Arc<T>,
    ) -> Result<Self> {
        // SAFETY: `name` is a static C string, `parent` live (caller), and
        // `data` outlives the entry: `drop` removes the entry, waiting for
        // readers, before releasing its reference.
        let pde = unsafe {
            b::proc_create_single_data(
                name.as_char_ptr(),
                0o444,
                parent,
                Some(show_trampoline::<T>),
                Arc::as_ptr(&data).cast_mut().cast(),
            )
        };
        if pde.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: registered just now under `parent` with `data`.
        Ok(Self { parent, name, data })
    }
}

impl<T: ProcShow> Drop for ProcEntry<T> {
    fn drop(&mut self) {
        // SAFETY: registered under the live `parent` (invariant);
        // `remove_proc_entry` waits until no reader is inside `show`.
        unsafe { b::remove_proc_entry(self.name.as_char_ptr(), self.parent) };
        let _ = &self.data;
    }
}

/// # Safety
///
/// Called by the seq_file code only, for an entry made by `ProcEntry<T>`.
unsafe extern "C" fn show_trampoline<T: ProcShow>(
    m: *mut bindings::seq_file,
    _v: *mut c_void,
) -> c_int {
    // SAFETY: `single_open` stored the entry's data, an `Arc<T>` pointer
    // that lives until the entry is removed, in `private`.
    let data = unsafe { &*(*m).private.cast::<T>() };
    // SAFETY: `m` is valid for the duration of the call.
    data.show(unsafe { SeqFile::from_raw(m) });
    0
}
