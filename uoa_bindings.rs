// SPDX-License-Identifier: GPL-2.0

//! Generated bindings for what the kernel crate does not bind.
//!
//! Kbuild runs bindgen on `include/uoa_kernel.h` at build time with the
//! kernel's own flags; nothing outside the `uoa_*` wrapper modules reaches
//! into this module. Types shared with the kernel crate (`sk_buff`, `net`,
//! `sock`, ...) come from `kernel::bindings`, so values mix with its APIs.

#![allow(
    dead_code,
    improper_ctypes,
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::pedantic,
    clippy::nursery,
    clippy::undocumented_unsafe_blocks
)]

use kernel::ffi;
use pin_init::MaybeZeroable;

include!(env!("UOA_BINDINGS_GENERATED"));
