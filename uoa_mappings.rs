// SPDX-License-Identifier: GPL-2.0

//! `/proc/net/uoa_mappings`: the live mappings of a namespace, one line
//! each, for root only (mode 0400: they name clients).
//!
//! ```text
//! source destination real_client seconds_left extra
//! 10.0.0.1:4000 10.0.0.2:5000 192.0.2.7:1234 299 -
//! [fd00::1]:4001 [fd00::2]:5000 [2001:db8::7]:1234 12 dest=198.51.100.1:80
//! 10.0.0.1:4002 10.0.0.2:5000 192.0.2.8:1 300 vni=4096
//! ```
//!
//! `source` and `destination` are the flow as packets arrive (the load
//! balancer's address and port, this host's); `extra` is what ByteDance's
//! formats carry besides the client (original destination, VNI), or `-`.
//!
//! A large table is read a `read()` at a time: each call walks on from
//! where the last one stopped ([`Walk`]). The walk holds the RCU read lock
//! for at most `BATCH` mappings at a time, then lets other tasks run, even
//! within one `read()` (a seek walks from the start). No lock is held
//! across the table, and packets and lookups go on meanwhile. The file is
//! a view, not a snapshot: a mapping stored or expiring during a dump may
//! or may not be listed, and one listed when the table resizes in between
//! may be listed twice.

use core::ptr;

use kernel::{
    bindings, c_str,
    ffi::{c_int, c_void},
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::Arc,
};

use crate::{
    uoa_bindings as b,
    uoa_datapath::UoaNet,
    uoa_parse::{RealAddr, UoaExtra},
    uoa_table::{expired, jiffies, Addr, FlowKey, Jiffies, MappingCopy, Table, Walk},
};

const NAME: &CStr = c_str!("uoa_mappings");
/// Mappings a walk looks at (listed or expired) within one RCU read-side
/// section.
const BATCH: u32 = 256;
/// `show`'s answer for a line not to print (`SEQ_SKIP`).
const SEQ_SKIP: c_int = 1;
const HEADER: &str = "source destination real_client seconds_left extra";

/// `/proc/net/uoa_mappings` of one namespace; removed on drop.
///
/// # Invariants
///
/// Registered under `parent`, which outlives `self`, with a pointer to
/// `uoa` as its data.
pub(crate) struct MappingsFile {
    parent: *mut bindings::proc_dir_entry,
    uoa: Arc<UoaNet>,
}

// SAFETY: removal may happen from any thread; `UoaNet` is `Send + Sync`.
unsafe impl Send for MappingsFile {}
// SAFETY: `&MappingsFile` gives no access to anything.
unsafe impl Sync for MappingsFile {}

impl MappingsFile {
    /// Creates `parent/uoa_mappings`, listing the mappings of `uoa`.
    ///
    /// # Safety
    ///
    /// `parent` is a live proc directory that outlives the returned value.
    pub(crate) unsafe fn new(
        parent: *mut bindings::proc_dir_entry,
        uoa: Arc<UoaNet>,
    ) -> Result<Self> {
        // SAFETY: `NAME` is a static C string, `parent` live (caller), the
        // operations static; `uoa` outlives the entry: `drop` removes it,
        // closing open files (`release`), before releasing the reference.
        let pde = unsafe {
            b::proc_create_data(
                NAME.as_char_ptr(),
                0o400,
                parent,
                &PROC_OPS,
                Arc::as_ptr(&uoa).cast_mut().cast(),
            )
        };
        if pde.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: registered just now under `parent` with `uoa`.
        Ok(Self { parent, uoa })
    }
}

impl Drop for MappingsFile {
    fn drop(&mut self) {
        // SAFETY: registered under the live `parent` (invariant). Removal
        // waits for calls in progress and runs `release` for files still
        // open, so no walk outlives this call.
        unsafe { b::remove_proc_entry(NAME.as_char_ptr(), self.parent) };
        let _ = &self.uoa;
    }
}

static PROC_OPS: b::proc_ops = b::proc_ops {
    proc_open: Some(open),
    proc_read_iter: Some(b::seq_read_iter),
    proc_lseek: Some(b::seq_lseek),
    proc_release: Some(release),
    // SAFETY: the other operations are optional; all zero is "none".
    ..unsafe { core::mem::zeroed() }
};

static SEQ_OPS: b::seq_operations = b::seq_operations {
    start: Some(start),
    next: Some(next),
    stop: Some(stop),
    show: Some(show),
};

/// What a reader is at: the line at position `Cursor::pos`.
#[derive(Clone, Copy)]
enum Line {
    Header,
    V4(MappingCopy<[u8; 4], RealAddr>, UoaExtra),
    V6(MappingCopy<[u8; 16], RealAddr>, UoaExtra),
    End,
}

/// One reader's place in the file, in its seq_file's private memory from
/// `open` to `release`. The seq_file code serialises the calls on it.
struct Cursor {
    /// Valid until `release`: the entry's data, which removing the entry
    /// (after `release` of open files) is the first step to dropping.
    uoa: *const UoaNet,
    v4: Walk<[u8; 4], RealAddr>,
    v6: Walk<[u8; 16], RealAddr>,
    line: Line,
    /// The seq_file position of `line`: 0 for the header, then one per
    /// mapping listed.
    pos: i64,
    /// Mappings looked at since the walk last let other tasks run.
    batch: u32,
}

// `__seq_open_private` gives kmalloc memory, aligned to 8 bytes at least.
const _: () = assert!(core::mem::align_of::<Cursor>() <= 8);

impl Cursor {
    fn uoa(&self) -> &UoaNet {
        // SAFETY: valid until `release` (field doc), and only used by the
        // file's operations, which run before it.
        unsafe { &*self.uoa }
    }

    /// Back to the header, for a walk from the start of the tables.
    fn rewind(&mut self) {
        self.v6.exit();
        // SAFETY: the cursor does not move (seq_file private memory) and
        // the table outlives it (`uoa`).
        unsafe { self.v4.enter(&(*self.uoa).v4) };
        self.line = Line::Header;
        self.pos = 0;
    }

    /// Takes the RCU read lock for the table being walked.
    fn resume(&mut self) {
        self.v4.start();
        self.v6.start();
    }

    /// Drops the RCU read lock, keeping the place.
    fn pause(&mut self) {
        self.v4.stop();
        self.v6.stop();
    }

    /// Moves to the next live mapping, or the end.
    fn advance(&mut self) {
        let now = jiffies();
        self.pos += 1;
        if let Line::Header | Line::V4(..) = self.line {
            if let Some(m) = next_live(&mut self.v4, &mut self.batch, now) {
                let extra = extra_of(&self.v4, &self.uoa().extra4, &m.key, now);
                self.line = Line::V4(m, extra);
                return;
            }
            self.v4.exit();
            // SAFETY: as in `rewind`.
            unsafe { self.v6.enter(&(*self.uoa).v6) };
            self.v6.start();
        }
        self.line = match next_live(&mut self.v6, &mut self.batch, now) {
            Some(m) => {
                let extra = extra_of(&self.v6, &self.uoa().extra6, &m.key, now);
                Line::V6(m, extra)
            }
            None => {
                self.v6.exit();
                Line::End
            }
        };
    }
}

/// The next mapping of the started `walk` not expired at `now`. Every
/// `BATCH` mappings (counted in `batch`) it leaves the RCU section and lets
/// other tasks run: seq operations run in process context, under the
/// seq_file's mutex only.
fn next_live<A: Addr>(
    walk: &mut Walk<A, RealAddr>,
    batch: &mut u32,
    now: Jiffies,
) -> Option<MappingCopy<A, RealAddr>> {
    loop {
        *batch += 1;
        if *batch >= BATCH {
            *batch = 0;
            walk.reschedule();
        }
        let m = walk.next()?;
        if !expired(m.expires, now) {
            return Some(m);
        }
    }
}

/// What `key`'s flow carries besides its client, if live at `now`, looked
/// up in the RCU section `walk` holds (none if it is not started).
fn extra_of<A: Addr>(
    walk: &Walk<A, RealAddr>,
    table: &Table<A, UoaExtra>,
    key: &FlowKey<A>,
    now: Jiffies,
) -> UoaExtra {
    match walk.rcu().and_then(|rcu| table.peek_in(&rcu, key)) {
        Some((extra, expires)) if !expired(expires, now) => extra,
        _ => UoaExtra::None,
    }
}

/// The cursor of seq_file `m`.
///
/// # Safety
///
/// `m` is a file of ours opened by `open`, not yet released; the caller
/// holds the seq_file's lock (it is a seq operation).
unsafe fn cursor<'a>(m: *mut bindings::seq_file) -> &'a mut Cursor {
    // SAFETY: `open` put a `Cursor` in `private`; the seq_file lock makes
    // this the only reference.
    unsafe { &mut *(*m).private.cast::<Cursor>() }
}

/// What `start` and `next` hand to `show`: the cursor, or null at the end.
fn token(c: &mut Cursor) -> *mut c_void {
    match c.line {
        Line::End => ptr::null_mut(),
        _ => ptr::from_mut(c).cast(),
    }
}

/// # Safety
///
/// Called by the proc code only, opening a file of an entry made by
/// `MappingsFile::new`.
unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: `file` is being opened; the seq_file code allocates the
    // private memory (zeroed) and frees it in `seq_release_private`
    // (`__seq_open_private` is `seq_open_private` returning the memory).
    let private = unsafe { b::__seq_open_private(file, &SEQ_OPS, size_of::<Cursor>() as c_int) };
    if private.is_null() {
        return ENOMEM.to_errno();
    }
    // SAFETY: `inode` is the entry's; its `i_private` is the entry's data
    // (`pde_data()`), a `UoaNet` alive until `release` (see `MappingsFile`).
    let uoa = unsafe { (*inode).i_private }.cast::<UoaNet>().cast_const();
    // SAFETY: `private` is fresh memory of a `Cursor`'s size, kmalloc'd
    // (aligned for it), ours until `release`.
    unsafe {
        private.cast::<Cursor>().write(Cursor {
            uoa,
            v4: Walk::idle(),
            v6: Walk::idle(),
            line: Line::Header,
            pos: 0,
            batch: 0,
        })
    };
    0
}

/// # Safety
///
/// Called by the proc code only, for a file opened by `open`.
unsafe extern "C" fn release(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: `file` was opened by `open`, so its seq_file's private memory
    // holds a `Cursor`; dropping it leaves its walks. Nothing uses it after.
    unsafe {
        let m = (*file).private_data.cast::<bindings::seq_file>();
        ptr::drop_in_place((*m).private.cast::<Cursor>());
    }
    // SAFETY: opened by `seq_open_private`.
    unsafe { b::seq_release_private(inode, file) }
}

/// # Safety
///
/// Called by the seq_file code only, for a file opened by `open`.
unsafe extern "C" fn start(m: *mut bindings::seq_file, pos: *mut i64) -> *mut c_void {
    // SAFETY: a seq operation (caller).
    let c = unsafe { cursor(m) };
    // SAFETY: `pos` is valid (seq_file code).
    let pos = unsafe { *pos };
    // A read from the start takes a fresh walk; a read from where the last
    // one stopped resumes it. (A seek starts from 0 in the seq_file code,
    // and `next` keeps `c.pos`; any other position is walked to anew.)
    if pos == 0 || pos != c.pos {
        c.rewind();
    }
    c.resume();
    while c.pos < pos && !matches!(c.line, Line::End) {
        c.advance();
    }
    token(c)
}

/// # Safety
///
/// Called by the seq_file code only, for a file opened by `open`.
unsafe extern "C" fn next(
    m: *mut bindings::seq_file,
    _v: *mut c_void,
    pos: *mut i64,
) -> *mut c_void {
    // SAFETY: a seq operation (caller).
    let c = unsafe { cursor(m) };
    c.advance();
    // SAFETY: `pos` is valid (seq_file code).
    unsafe { *pos = c.pos };
    token(c)
}

/// # Safety
///
/// Called by the seq_file code only, for a file opened by `open`.
unsafe extern "C" fn stop(m: *mut bindings::seq_file, _v: *mut c_void) {
    // SAFETY: a seq operation (caller).
    unsafe { cursor(m) }.pause();
}

/// # Safety
///
/// Called by the seq_file code only, for a file opened by `open`, with a
/// token from `start` or `next`.
unsafe extern "C" fn show(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: a seq operation (caller).
    let line = unsafe { cursor(m) }.line;
    // SAFETY: `m` is valid for the duration of the call.
    let m = unsafe { SeqFile::from_raw(m) };
    let now = jiffies();
    match line {
        // Expired since the walk found it (shown in a later read).
        Line::V4(mapping, _) if expired(mapping.expires, now) => return SEQ_SKIP,
        Line::V6(mapping, _) if expired(mapping.expires, now) => return SEQ_SKIP,
        Line::Header => seq_print!(m, "{}\n", HEADER),
        Line::V4(mapping, extra) => print_mapping(m, &mapping, extra, now, |addr, port| {
            RealAddr::V4 { addr, port }
        }),
        Line::V6(mapping, extra) => print_mapping(m, &mapping, extra, now, |addr, port| {
            RealAddr::V6 { addr, port }
        }),
        Line::End => {}
    }
    0
}

/// Prints one mapping's line; `endpoint` makes an address and port of the
/// flow's family printable.
fn print_mapping<A: Addr>(
    m: &SeqFile,
    mapping: &MappingCopy<A, RealAddr>,
    extra: UoaExtra,
    now: Jiffies,
    endpoint: impl Fn(A, u16) -> RealAddr,
) {
    let key = &mapping.key;
    // Rounded up: a mapping listed has at least a second's worth of
    // jiffies left, or less than a second but not nothing.
    // SAFETY: plain computation.
    let msecs = unsafe { bindings::jiffies64_to_msecs(mapping.expires.wrapping_sub(now) as u64) };
    seq_print!(
        m,
        "{} {} {} {} ",
        endpoint(key.saddr, key.sport),
        endpoint(key.daddr, key.dport),
        mapping.value,
        msecs.div_ceil(1000)
    );
    match extra {
        UoaExtra::None => seq_print!(m, "-\n"),
        UoaExtra::Destination(dest) => seq_print!(m, "dest={}\n", dest),
        UoaExtra::Vni(vni) => seq_print!(m, "vni={}\n", vni),
    }
}
