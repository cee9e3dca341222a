// SPDX-License-Identifier: GPL-2.0

//! `uoa_trusted`: the load balancers whose UOA is stored. The list is the
//! module parameter of that name (declared in `uoa_params.c`, since the
//! `module!` macro has no string parameters): set at load, and changeable at
//! run time by root through `/sys/module/uoa/parameters/uoa_trusted`.
//!
//! The list is one allocation published through an RCU-protected pointer:
//! packets read it without a lock, a change swaps the pointer and frees the
//! old list after a grace period, so no packet sees half a list or waits.
//! A bad value is refused (`EINVAL`) with a message naming it, and the list
//! in force stays. It applies to every network namespace.

use core::ptr;

use kernel::{
    bindings,
    ffi::{c_char, c_int, c_void},
    prelude::*,
    str::CStrExt,
    sync::{
        atomic::{Acquire, Atomic, Release},
        rcu,
    },
};

use crate::{
    uoa_prefix::{PrefixError, PrefixList},
    uoa_rcu::RcuSection,
};

/// The list in force; null: the open list (every source trusted).
///
/// # Invariants
///
/// Non-null, it points to a `PrefixList` from `KBox::into_raw`, freed only
/// after it is unpublished and a grace period has passed.
static TRUSTED: Atomic<*mut PrefixList> = Atomic::new(ptr::null_mut());

/// Whether a UOA from source address `addr` (4 or 16 bytes) may be stored.
/// Inline: with the open list (the default) it is a load and a test.
#[inline(always)]
pub(crate) fn allows(addr: &[u8], _rcu: &RcuSection<'_>) -> bool {
    let list = TRUSTED.load(Acquire);
    // SAFETY: a published list stays allocated until a grace period after
    // it is unpublished (invariant), and the caller's section holds that
    // off while the reference is used.
    unsafe { list.as_ref() }.is_none_or(|l| l.allows(addr))
}

/// Runs `f` with the list in force (`OPEN` when none).
pub(crate) fn with_list<R>(f: impl FnOnce(&PrefixList) -> R) -> R {
    let _rcu = rcu::read_lock();
    // SAFETY: as in `allows`.
    f(unsafe { TRUSTED.load(Acquire).as_ref() }.unwrap_or(&PrefixList::OPEN))
}

// The kernel's formatting macros take their own `Display`; forward to the
// `core` one the pure code implements.
impl kernel::fmt::Display for PrefixList {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

impl kernel::fmt::Display for PrefixError<'_> {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

/// Makes `list` the one in force and frees the previous one once no reader
/// can hold it. Process context only (it waits for a grace period).
fn publish(list: Option<KBox<PrefixList>>) {
    // INVARIANT: the new list is complete before the release store.
    let old = TRUSTED.xchg(list.map_or(ptr::null_mut(), KBox::into_raw), Release);
    if !old.is_null() {
        rcu::synchronize_rcu();
        // SAFETY: `old` came from `KBox::into_raw`, is unpublished, and the
        // grace period above has let every reader go.
        drop(unsafe { KBox::from_raw(old) });
    }
}

/// Parses and installs a new list; `EINVAL` with a log line naming the
/// value if it is bad.
fn set(text: &str) -> Result {
    let shown = text.trim();
    let list = PrefixList::parse(text).map_err(|e| {
        pr_err!("uoa_trusted={shown}: {e}\n");
        EINVAL
    })?;
    publish(if list.is_open() {
        None
    } else {
        Some(KBox::new(list, GFP_KERNEL)?)
    });
    Ok(())
}

/// `kernel_param_ops.set` of `uoa_trusted`.
///
/// # Safety
///
/// Called by the module parameter code with `val` a NUL-terminated string,
/// in process context, serialised with the other callbacks.
#[no_mangle]
unsafe extern "C" fn uoa_trusted_set(
    val: *const c_char,
    _kp: *const bindings::kernel_param,
) -> c_int {
    // SAFETY: `val` is a NUL-terminated string, valid during the call.
    let val = unsafe { CStr::from_char_ptr(val) };
    let result = match val.to_str() {
        Ok(text) => set(text),
        Err(_) => {
            pr_err!("uoa_trusted: not text\n");
            Err(EINVAL)
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Writes what fits of formatted text into a byte buffer.
struct BufWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for BufWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        let dest = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dest.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `kernel_param_ops.get` of `uoa_trusted`: the list, one line.
///
/// # Safety
///
/// Called by the module parameter code with `buffer` a writable page.
#[no_mangle]
unsafe extern "C" fn uoa_trusted_get(
    buffer: *mut c_char,
    _kp: *const bindings::kernel_param,
) -> c_int {
    // SAFETY: the parameter code hands over a page of its own to fill.
    let buf = unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>(), bindings::PAGE_SIZE) };
    let mut w = BufWriter { buf, len: 0 };
    // A list of `MAX_PREFIXES` is far shorter than a page.
    let written = with_list(|l| core::fmt::write(&mut w, format_args!("{l}\n")));
    match written {
        Ok(()) => w.len as c_int,
        Err(_) => EINVAL.to_errno(),
    }
}

/// `kernel_param_ops.free` of `uoa_trusted`: at unload (or a failed load),
/// after the hooks are gone, the list goes.
///
/// # Safety
///
/// Called by the module code once, when no packet hook of the module runs.
#[no_mangle]
unsafe extern "C" fn uoa_trusted_free(_arg: *mut c_void) {
    publish(None);
}
