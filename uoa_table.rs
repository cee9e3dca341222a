// SPDX-License-Identifier: GPL-2.0

//! The mapping table of one network namespace: the flow a UOA packet
//! arrived on, `(saddr, daddr, sport, dport)`, to its real client.
//!
//! One table per address family (`Table<[u8; 4]>`, `Table<[u8; 16]>`), so an
//! IPv4 entry stays small. A table is the kernel's `rhashtable`, reached
//! through the one-line wrappers of `uoa_rhash.c`: it starts small, doubles
//! when three quarters full and halves below 30 %, rehashing in a worker
//! while lookups and inserts go on, so chains stay short from a handful of
//! mappings to millions; it stops growing at `uoa_map_max` buckets (rounded
//! up to a power of two), where chains average one entry at most:
//! - lookups and packets read it inside an RCU read-side section (the
//!   caller's [`RcuSection`]) without a lock; a lookup refreshes an entry's
//!   expiry with one atomic store;
//! - writers (softirq packets, the sweeper) use the table's bucket locks;
//!   replaced or expired entries are freed after a grace period
//!   (`kvfree_call_rcu`);
//! - an entry never changes once published, except its expiry: an update
//!   replaces the whole entry (`rhashtable_replace_fast`), so a reader never
//!   sees half of one.
//!
//! There are no per-entry timers: expired entries are skipped by lookups,
//! replaced by the next UOA of their flow, and swept periodically.
//!
//! The hash covers `(saddr, sport, dport)` only, so a lookup with the
//! wildcard (all zero) `daddr` finds its bucket too. Flows that differ only
//! in `daddr` (one load balancer port towards several addresses of this
//! host) share a chain, and `rhashtable` keeps chains to 16: the 17th such
//! flow may be refused (counted as `insert_failed`). It is `jhash` with the
//! table's random seed, as the kernel's socket tables use: cheaper than a
//! keyed SipHash, and safe here because `rhashtable` rehashes with a new
//! seed when a chain grows past 16 entries, so a sender aiming its flows at
//! one bucket gains nothing.
//!
//! Times are jiffies in the kernel's own width (`unsigned long`), compared
//! with wrap-around arithmetic as `time_after_eq()` does.
//!
//! The tables of a namespace share a [`Budget`] (`uoa_map_max`): at the cap
//! a new flow is refused (`ENOSPC`, counted by the caller), while mappings
//! already stored keep being refreshed and replaced. Refusing rather than
//! evicting keeps the clients of established flows when a flood of new
//! 4-tuples arrives; room comes back as mappings expire.

use core::{mem::offset_of, ptr};

use kernel::{
    bindings,
    ffi::{c_int, c_void},
    prelude::*,
    sync::{
        atomic::{Atomic, Full, Relaxed},
        Arc,
    },
    types::Opaque,
};

use crate::{
    uoa_bindings as b,
    uoa_parse::{RealAddr, UoaExtra},
    uoa_rcu::RcuSection,
};

/// Test builds only: non-zero makes the next entry allocation fail, as
/// `failslab` would on a real kernel.
#[cfg(uoa_kunit)]
pub(crate) static FAIL_NEXT_ALLOC: Atomic<i32> = Atomic::new(0);

/// Jiffies, in the kernel's width.
pub(crate) type Jiffies = kernel::time::Jiffies;

/// An IP address as stored in the table, network order bytes, with the
/// wrappers of its family's rhashtable (`uoa_rhash.c`).
///
/// # Safety
///
/// The `rht_*` functions are those of this family: their key layout is
/// `FlowKey<Self>`.
pub(crate) unsafe trait Addr:
    Copy + Eq + Send + Sync + core::fmt::Debug + AsRef<[u8]> + 'static
{
    /// `uoa_rht_init*`.
    const RHT_INIT: unsafe extern "C" fn(*mut b::rhashtable, u16, u32) -> c_int;
    /// `uoa_rht_lookup*`.
    const RHT_LOOKUP: unsafe extern "C" fn(*mut b::rhashtable, *const c_void) -> *mut c_void;
    /// `uoa_rht_insert*`.
    const RHT_INSERT: unsafe extern "C" fn(*mut b::rhashtable, *mut b::rhash_head) -> *mut c_void;
    /// `uoa_rht_replace*`.
    const RHT_REPLACE: unsafe extern "C" fn(
        *mut b::rhashtable,
        *mut b::rhash_head,
        *mut b::rhash_head,
    ) -> c_int;
    /// `uoa_rht_remove*`.
    const RHT_REMOVE: unsafe extern "C" fn(*mut b::rhashtable, *mut b::rhash_head) -> c_int;
}

// SAFETY: the IPv4 wrappers, keyed by `uoa_key4`, the layout of
// `FlowKey<[u8; 4]>` (asserted below).
unsafe impl Addr for [u8; 4] {
    const RHT_INIT: unsafe extern "C" fn(*mut b::rhashtable, u16, u32) -> c_int = b::uoa_rht_init4;
    const RHT_LOOKUP: unsafe extern "C" fn(*mut b::rhashtable, *const c_void) -> *mut c_void =
        b::uoa_rht_lookup4;
    const RHT_INSERT: unsafe extern "C" fn(*mut b::rhashtable, *mut b::rhash_head) -> *mut c_void =
        b::uoa_rht_insert4;
    const RHT_REPLACE: unsafe extern "C" fn(
        *mut b::rhashtable,
        *mut b::rhash_head,
        *mut b::rhash_head,
    ) -> c_int = b::uoa_rht_replace4;
    const RHT_REMOVE: unsafe extern "C" fn(*mut b::rhashtable, *mut b::rhash_head) -> c_int =
        b::uoa_rht_remove4;
}

// SAFETY: the IPv6 wrappers, keyed by `uoa_key6`, the layout of
// `FlowKey<[u8; 16]>` (asserted below).
unsafe impl Addr for [u8; 16] {
    const RHT_INIT: unsafe extern "C" fn(*mut b::rhashtable, u16, u32) -> c_int = b::uoa_rht_init6;
    const RHT_LOOKUP: unsafe extern "C" fn(*mut b::rhashtable, *const c_void) -> *mut c_void =
        b::uoa_rht_lookup6;
    const RHT_INSERT: unsafe extern "C" fn(*mut b::rhashtable, *mut b::rhash_head) -> *mut c_void =
        b::uoa_rht_insert6;
    const RHT_REPLACE: unsafe extern "C" fn(
        *mut b::rhashtable,
        *mut b::rhash_head,
        *mut b::rhash_head,
    ) -> c_int = b::uoa_rht_replace6;
    const RHT_REMOVE: unsafe extern "C" fn(*mut b::rhashtable, *mut b::rhash_head) -> c_int =
        b::uoa_rht_remove6;
}

/// A UDP flow as it reaches the real server. Ports in host order. The
/// layout of `struct uoa_key4` / `uoa_key6`, which `uoa_rhash.c` hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct FlowKey<A: Addr> {
    /// Packet source: the load balancer's local address.
    pub(crate) saddr: A,
    /// Packet destination: the real server's address.
    pub(crate) daddr: A,
    /// Source port.
    pub(crate) sport: u16,
    /// Destination port.
    pub(crate) dport: u16,
}

// The C side reads keys with these layouts.
const _: () = {
    assert!(size_of::<FlowKey<[u8; 4]>>() == size_of::<b::uoa_key4>());
    assert!(offset_of!(FlowKey<[u8; 4]>, sport) == offset_of!(b::uoa_key4, sport));
    assert!(offset_of!(FlowKey<[u8; 4]>, dport) == offset_of!(b::uoa_key4, dport));
    assert!(size_of::<FlowKey<[u8; 16]>>() == size_of::<b::uoa_key6>());
    assert!(offset_of!(FlowKey<[u8; 16]>, sport) == offset_of!(b::uoa_key6, sport));
    assert!(offset_of!(FlowKey<[u8; 16]>, dport) == offset_of!(b::uoa_key6, dport));
    assert!(offset_of!(Entry<[u8; 4], RealAddr>, node) == 0);
    assert!(offset_of!(Entry<[u8; 4], RealAddr>, key) == size_of::<b::rhash_head>());
    assert!(offset_of!(Entry<[u8; 16], RealAddr>, node) == 0);
    assert!(offset_of!(Entry<[u8; 16], RealAddr>, key) == size_of::<b::rhash_head>());
    assert!(offset_of!(Entry<[u8; 4], UoaExtra>, key) == size_of::<b::rhash_head>());
    assert!(offset_of!(Entry<[u8; 16], UoaExtra>, key) == size_of::<b::rhash_head>());
    // An IPv4 mapping of a client fits the 64-byte size class.
    assert!(size_of::<Entry<[u8; 4], RealAddr>>() <= 64);
};

/// One mapping. Immutable once published but for `expires`. Begins with
/// its table link, then its key, as `uoa_rhash.c` expects.
#[repr(C)]
struct Entry<A: Addr, V: Value> {
    node: b::rhash_head,
    key: FlowKey<A>,
    // Before `expires`, so that no padding makes an IPv4 entry pass 64 bytes.
    value: V,
    expires: Atomic<Jiffies>,
    rcu: bindings::kvfree_rcu_head,
}

/// What a table maps flows to: the real client (`RealAddr`), or what
/// some balancers' UOA carries besides (`UoaExtra`).
pub(crate) trait Value: Copy + PartialEq + Send + Sync + 'static {}
impl Value for RealAddr {}
impl Value for UoaExtra {}

/// Bytes of kernel memory one mapping of this family takes (the `kmalloc`
/// size class its entry comes from).
pub(crate) fn entry_slab_size<A: Addr, V: Value>() -> usize {
    // SAFETY: plain computation.
    unsafe { bindings::kmalloc_size_roundup(core::mem::size_of::<Entry<A, V>>()) }
}

/// The current time in jiffies.
pub(crate) fn jiffies() -> Jiffies {
    // SAFETY: `jiffies` is always valid to read; a volatile read, as C's
    // `READ_ONCE(jiffies)`.
    unsafe { core::ptr::read_volatile(&raw const bindings::jiffies) }
}

/// Whether jiffies time `t` has passed at `now`: `time_after_eq(now, t)`.
pub(crate) fn expired(t: Jiffies, now: Jiffies) -> bool {
    now.wrapping_sub(t) as isize >= 0
}

/// Moves a live mapping's deadline from `old` (just read) to `new`. A busy
/// flow is refreshed many times within one jiffy: the deadline is written
/// only when it moves, which spares the store and leaves the entry's cache
/// line clean on the other CPUs.
#[inline(always)]
fn refresh(expires: &Atomic<Jiffies>, old: Jiffies, new: Jiffies) {
    if old != new {
        expires.store(new, Relaxed);
    }
}

/// How many mappings the tables of one namespace may hold together.
pub(crate) struct Budget {
    used: Atomic<usize>,
    max: usize,
}

impl Budget {
    /// Room for `max` mappings.
    pub(crate) fn new(max: usize) -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self {
                used: Atomic::new(0),
                max,
            },
            GFP_KERNEL,
        )?)
    }

    /// Mappings held (expired ones not yet removed included).
    pub(crate) fn used(&self) -> usize {
        self.used.load(Relaxed)
    }

    /// The cap.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Takes room for one mapping; false at the cap. Exact under
    /// concurrent writers, and a full barrier when it succeeds (the
    /// sweeper's wake-up relies on it).
    fn take(&self) -> bool {
        let mut used = self.used.load(Relaxed);
        loop {
            if used >= self.max {
                return false;
            }
            match self.used.cmpxchg(used, used + 1, Full) {
                Ok(_) => return true,
                Err(now) => used = now,
            }
        }
    }

    /// Gives back the room of `n` mappings.
    fn give(&self, n: usize) {
        if n != 0 {
            self.used.fetch_sub(n, Relaxed);
        }
    }
}

/// What an insert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stored {
    /// A new mapping.
    New,
    /// The mapping of the same flow was replaced.
    Replaced,
    /// The same mapping was there: only its expiry moved.
    Refreshed,
}

/// The table of one address family in one namespace.
///
/// # Invariants
///
/// `ht` is an initialised rhashtable of family `A`, whose objects are live
/// `Entry<A>` made by `KBox::into_raw`; an entry removed from it is freed
/// only after an RCU grace period. `len` counts its entries, each of which
/// holds one unit of `budget`.
#[pin_data(PinnedDrop)]
pub(crate) struct Table<A: Addr, V: Value = RealAddr> {
    #[pin]
    ht: Opaque<b::rhashtable>,
    len: Atomic<usize>,
    budget: Arc<Budget>,
    _family: core::marker::PhantomData<(A, V)>,
}

// SAFETY: an rhashtable is made to be shared: lookups under RCU, writers
// serialised by its bucket locks, resizes by its own worker; entries are
// `Send` and `Sync` data.
unsafe impl<A: Addr, V: Value> Sync for Table<A, V> {}
// SAFETY: as above; the table is not tied to a thread.
unsafe impl<A: Addr, V: Value> Send for Table<A, V> {}

/// Whether `p` is an `ERR_PTR`.
fn is_err(p: *mut c_void) -> bool {
    p as usize >= (-(bindings::MAX_ERRNO as isize)) as usize
}

impl<A: Addr, V: Value> Table<A, V> {
    /// Most buckets a table starts with: `1 << MAX_BITS` (`nelem_hint` is
    /// a `u16`). Tables grow past it as needed.
    pub(crate) const MAX_BITS: u32 = 16;

    /// An empty table that starts with about `1 << bits` buckets (`bits` at
    /// most `MAX_BITS`; 0: the rhashtable default, 64), and whose mappings
    /// count against `budget`.
    pub(crate) fn new(bits: u32, budget: Arc<Budget>) -> impl PinInit<Self, Error> {
        // rhashtable sizes its first table for `nelem_hint` at 75 % load;
        // at `MAX_BITS` the hint still fits its `u16`.
        const _: () = assert!((3u32 << 16) / 4 <= u16::MAX as u32);
        let hint = if bits == 0 {
            0
        } else {
            ((3u32 << bits.min(Self::MAX_BITS)) / 4) as u16
        };
        // No more buckets than the cap on mappings, rounded up to a power
        // of two: at the cap, chains average one entry at most, and the
        // bucket array costs 8 bytes per mapping or less.
        let max_buckets = budget.max().clamp(1, 1 << 31).next_power_of_two() as u32;
        try_pin_init!(Self {
            ht <- Opaque::try_ffi_init(|slot| {
                // SAFETY: `slot` is ours to initialise; the wrapper
                // initialises the table in place or fails with an errno.
                kernel::error::to_result(unsafe { A::RHT_INIT(slot, hint, max_buckets) })
            }),
            len: Atomic::new(0),
            budget,
            _family: core::marker::PhantomData,
        }? Error)
    }

    /// Number of mappings stored (expired ones not yet removed included).
    pub(crate) fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// Buckets of the current bucket array.
    #[cfg(uoa_kunit)]
    pub(crate) fn buckets(&self) -> usize {
        // SAFETY: the table is initialised; a plain load.
        unsafe { b::uoa_rht_buckets(self.ht.get()) as usize }
    }

    /// Bytes of kernel memory the table holds: its entries and its
    /// current bucket array (a resize in flight not counted).
    pub(crate) fn memory(&self) -> usize {
        // SAFETY: the table is initialised; reading the size of its
        // current bucket table is a plain load.
        let buckets = unsafe { b::uoa_rht_buckets(self.ht.get()) } as usize;
        self.len() * entry_slab_size::<A, V>() + buckets * size_of::<usize>()
    }

    /// Frees `entry` after a grace period.
    ///
    /// # Safety
    ///
    /// `entry` is live and no longer reachable from the table.
    unsafe fn retire(entry: *mut Entry<A, V>) {
        // SAFETY: `entry` came from `KBox::into_raw` (kmalloc), so kvfree
        // after the grace period frees it; readers may still hold it until
        // then. `rcu` is a field of it, unused otherwise.
        unsafe { bindings::kvfree_call_rcu(&raw mut (*entry).rcu, entry.cast()) };
    }

    /// The entry answering `query`, if any (live or expired).
    ///
    /// # Safety
    ///
    /// The caller is in an RCU read-side section while it uses the result.
    unsafe fn find(&self, query: &FlowKey<A>) -> Option<*mut Entry<A, V>> {
        // SAFETY: the table is initialised (invariant); `query` is a key of
        // this family (`Addr` safety); in an RCU read-side section (caller).
        let e = unsafe { A::RHT_LOOKUP(self.ht.get(), ptr::from_ref(query).cast()) };
        (!e.is_null()).then_some(e.cast())
    }

    /// Records `key -> value` valid until jiffies `expires`; replaces the
    /// mapping of the same flow (or only moves its expiry when it is the
    /// same and not expired at `now`). Fails with `ENOSPC` for a new flow
    /// when the budget is spent, `ENOMEM` when memory is short, and
    /// `ESTALE` when memory is short for a changed client: the old mapping
    /// is then removed, since looking it up would name a client the flow
    /// no longer has.
    ///
    /// The commonest case, a refresh, is inline: one lookup and a store.
    #[inline]
    pub(crate) fn insert_in(
        &self,
        _rcu: &RcuSection<'_>,
        key: FlowKey<A>,
        value: V,
        now: Jiffies,
        expires: Jiffies,
    ) -> Result<Stored> {
        // SAFETY: in the caller's RCU read-side section.
        let found = unsafe { self.find(&key) };
        if let Some(old) = found {
            // SAFETY: found in the caller's RCU read-side section, so live
            // until it ends.
            let entry = unsafe { &*old };
            let old_expires = entry.expires.load(Relaxed);
            if entry.value == value && !expired(old_expires, now) {
                refresh(&entry.expires, old_expires, expires);
                return Ok(Stored::Refreshed);
            }
        }
        // SAFETY: in the caller's RCU read-side section, where `found` was
        // looked up.
        unsafe { self.store(key, value, expires, found) }
    }

    /// `insert_in` for a new flow, a new client or an expired mapping:
    /// allocates a new entry and inserts it, or swaps it for `found`.
    ///
    /// # Safety
    ///
    /// The caller is in an RCU read-side section, in which it looked up
    /// `found`: the entry of `key` then, if any.
    #[inline(never)]
    unsafe fn store(
        &self,
        key: FlowKey<A>,
        value: V,
        expires: Jiffies,
        mut found: Option<*mut Entry<A, V>>,
    ) -> Result<Stored> {
        let new_entry = || {
            #[cfg(uoa_kunit)]
            if FAIL_NEXT_ALLOC.xchg(0, Relaxed) != 0 {
                return Err(kernel::alloc::AllocError);
            }
            KBox::new(
                Entry {
                    node: b::rhash_head::default(),
                    key,
                    value,
                    expires: Atomic::new(expires),
                    rcu: bindings::kvfree_rcu_head::default(),
                },
                GFP_ATOMIC,
            )
            .map(KBox::into_raw)
        };
        let ht = self.ht.get();
        // Twice at most: a writer on another CPU may insert or remove the
        // same flow between our lookup and our change.
        for round in 0..2 {
            if round > 0 {
                // SAFETY: in the caller's RCU read-side section.
                found = unsafe { self.find(&key) };
            }
            if let Some(old) = found {
                let Ok(new) = new_entry() else {
                    // SAFETY: `old` was found in the caller's section.
                    unsafe { self.unlink(old) };
                    return Err(ESTALE);
                };
                // SAFETY: `old` is in the table, `new` is ours and complete;
                // the swap publishes `new` whole.
                if unsafe { A::RHT_REPLACE(ht, &raw mut (*old).node, &raw mut (*new).node) } == 0 {
                    // SAFETY: `old` was just unlinked, and is live.
                    unsafe { Self::retire(old) };
                    return Ok(Stored::Replaced);
                }
                // `old` went meanwhile.
                // SAFETY: `new` was never published.
                drop(unsafe { KBox::from_raw(new) });
                continue;
            }
            if !self.budget.take() {
                return Err(ENOSPC);
            }
            let new = new_entry().inspect_err(|_| self.budget.give(1))?;
            // SAFETY: `new` is ours and complete; inserting publishes it.
            let found = unsafe { A::RHT_INSERT(ht, &raw mut (*new).node) };
            if found.is_null() {
                // INVARIANT: one more entry, holding the unit taken above.
                self.len.add(1, Relaxed);
                return Ok(Stored::New);
            }
            self.budget.give(1);
            // SAFETY: `new` was not published.
            drop(unsafe { KBox::from_raw(new) });
            if is_err(found) {
                return Err(Error::from_errno(found as isize as i32));
            }
            // The same flow was inserted meanwhile: go round again.
        }
        Err(EAGAIN)
    }

    /// Removes `entry` from the table, unless another writer did first;
    /// returns whether this call did.
    ///
    /// # Safety
    ///
    /// `entry` was found in the table in the caller's RCU read-side
    /// section, which still lasts.
    unsafe fn unlink(&self, entry: *mut Entry<A, V>) -> bool {
        // SAFETY: `entry` is live (caller's section); removing fails,
        // changing nothing, if another writer removed it first.
        if unsafe { A::RHT_REMOVE(self.ht.get(), &raw mut (*entry).node) } != 0 {
            return false;
        }
        // SAFETY: just unlinked, and live.
        unsafe { Self::retire(entry) };
        // INVARIANT: one entry fewer, and its unit back.
        self.len.fetch_sub(1, Relaxed);
        self.budget.give(1);
        true
    }

    /// Removes the mapping of `key`'s flow, if any; returns whether it did.
    pub(crate) fn remove_in(&self, _rcu: &RcuSection<'_>, key: &FlowKey<A>) -> bool {
        // SAFETY: in the caller's RCU read-side section, as is the unlink.
        unsafe { self.find(key).is_some_and(|entry| self.unlink(entry)) }
    }

    /// The real client of `query` if a mapping is live at `now`; a hit
    /// moves the mapping's expiry to `refresh_to`.
    #[inline]
    pub(crate) fn lookup_in(
        &self,
        _rcu: &RcuSection<'_>,
        query: &FlowKey<A>,
        now: Jiffies,
        refresh_to: Jiffies,
    ) -> Option<V> {
        // SAFETY: in the caller's RCU read-side section, which lasts while
        // `entry` is used.
        let entry = unsafe { &*self.find(query)? };
        let old_expires = entry.expires.load(Relaxed);
        if expired(old_expires, now) {
            return None;
        }
        refresh(&entry.expires, old_expires, refresh_to);
        Some(entry.value)
    }

    /// `insert_in`, taking the RCU read lock itself (tests).
    #[cfg(any(uoa_kunit, uoa_bench))]
    pub(crate) fn insert(
        &self,
        key: FlowKey<A>,
        value: V,
        now: Jiffies,
        expires: Jiffies,
    ) -> Result<Stored> {
        let guard = kernel::sync::rcu::read_lock();
        self.insert_in(&RcuSection::of(&guard), key, value, now, expires)
    }

    /// `lookup_in`, taking the RCU read lock itself (tests).
    #[cfg(uoa_kunit)]
    pub(crate) fn lookup(
        &self,
        query: &FlowKey<A>,
        now: Jiffies,
        refresh_to: Jiffies,
    ) -> Option<V> {
        let guard = kernel::sync::rcu::read_lock();
        self.lookup_in(&RcuSection::of(&guard), query, now, refresh_to)
    }

    /// Removes the mappings expired at `now`; returns how many. Process
    /// context: it walks the table in batches, letting other tasks run
    /// between them. Resuming a walk after removals may skip a few entries
    /// of the bucket it stopped in (`rhashtable_walk_start`); those wait
    /// for the next sweep, invisible to lookups meanwhile.
    pub(crate) fn sweep(&self, now: Jiffies) -> usize {
        /// Entries looked at between two reschedule points.
        const BATCH: usize = 1024;
        let mut walk = Walk::<A, V>::idle();
        // SAFETY: `walk` stays in this frame, where it is not moved, and
        // leaves the table when dropped at its end, while `self` lives.
        unsafe { walk.enter(self) };
        walk.start();
        let (mut seen, mut removed) = (0, 0);
        while let Some(entry) = walk.next_entry() {
            // SAFETY: the walk's entries are live while it holds the RCU
            // read lock.
            if expired(unsafe { (*entry).expires.load(Relaxed) }, now)
                // SAFETY: found by the walk, inside its RCU section; fails
                // if another writer removed it first.
                && unsafe { self.unlink(entry) }
            {
                removed += 1;
            }
            seen += 1;
            if seen % BATCH == 0 {
                walk.reschedule();
            }
        }
        removed
    }
}

/// One mapping as the mapping view prints it: a copy, taken inside the
/// walk's RCU section, so that it outlives the section.
#[derive(Clone, Copy)]
pub(crate) struct MappingCopy<A: Addr, V: Value> {
    pub(crate) key: FlowKey<A>,
    pub(crate) value: V,
    pub(crate) expires: Jiffies,
}

/// A walk over a table that pauses between batches, leaving the RCU
/// read-side section, and resumes where it stopped: the mapping view reads
/// a table this way, so no lock or RCU section lasts across the whole
/// table. A resize in between restarts the walk (`rhashtable_walk_next`
/// answers `-EAGAIN`): some mappings may then be seen twice.
///
/// While entered, the iterator is linked into the table's list of walkers,
/// where a resize or another walker may write to it at any time: it is
/// `Opaque`, which also makes the walk `!Unpin`.
///
/// # Invariants
///
/// When `entered`, `iter` is entered on the rhashtable of a table that
/// outlives the walk, and does not move; `started` only when `entered`,
/// and then the walk holds the RCU read lock.
pub(crate) struct Walk<A: Addr, V: Value> {
    iter: Opaque<b::rhashtable_iter>,
    entered: bool,
    started: bool,
    _family: core::marker::PhantomData<(A, V)>,
}

impl<A: Addr, V: Value> Walk<A, V> {
    /// A walk not yet entered on any table.
    pub(crate) fn idle() -> Self {
        Self {
            // An all-zero `rhashtable_iter` is a valid idle value;
            // `rhashtable_walk_enter` initialises it.
            iter: Opaque::zeroed(),
            entered: false,
            started: false,
            _family: core::marker::PhantomData,
        }
    }

    /// Enters the walk on `table` (leaving the table walked before).
    ///
    /// # Safety
    ///
    /// `self` does not move until `exit` (or `enter` again, or drop) and
    /// `table` outlives that.
    pub(crate) unsafe fn enter(&mut self, table: &Table<A, V>) {
        self.exit();
        // SAFETY: `table` is initialised and outlives the walk, which does
        // not move (caller); `iter` is not entered (just exited).
        unsafe { b::rhashtable_walk_enter(table.ht.get(), self.iter.get()) };
        // INVARIANT: entered on `table`, not started.
        self.entered = true;
    }

    /// Takes the RCU read lock and resumes. Process context.
    pub(crate) fn start(&mut self) {
        if self.entered && !self.started {
            // SAFETY: entered (invariant); a resize since the stop (-EAGAIN)
            // only means mappings may be seen twice.
            unsafe { b::rhashtable_walk_start_check(self.iter.get()) };
            self.started = true;
        }
    }

    /// Proof of the RCU read-side section the walk holds, while started.
    pub(crate) fn rcu(&self) -> Option<RcuSection<'_>> {
        // SAFETY: a started walk holds the RCU read lock (invariant) until
        // `stop`, which needs `&mut self`: not while the section is
        // borrowed.
        self.started.then(|| unsafe { RcuSection::assume() })
    }

    /// The next entry of the table, live until the walk stops; `None` at
    /// its end, or when the walk is not started.
    fn next_entry(&mut self) -> Option<*mut Entry<A, V>> {
        if !self.started {
            return None;
        }
        loop {
            // SAFETY: started (invariant).
            let obj = unsafe { b::rhashtable_walk_next(self.iter.get()) };
            if obj.is_null() {
                return None;
            }
            if !is_err(obj) {
                return Some(obj.cast());
            }
        }
    }

    /// The next mapping of the table, copied; `None` at its end, or when
    /// the walk is not started.
    pub(crate) fn next(&mut self) -> Option<MappingCopy<A, V>> {
        let entry = self.next_entry()?;
        // SAFETY: the table's objects are live `Entry<A, V>` while the walk
        // holds the RCU read lock.
        let entry = unsafe { &*entry };
        Some(MappingCopy {
            key: entry.key,
            value: entry.value,
            expires: entry.expires.load(Relaxed),
        })
    }

    /// Leaves the RCU section, lets other tasks run, and resumes where the
    /// walk was. Process context, no spinlock held.
    pub(crate) fn reschedule(&mut self) {
        if self.started {
            self.stop();
            // SAFETY: process context (caller), the RCU section just left.
            unsafe { b::uoa_cond_resched() };
            self.start();
        }
    }

    /// Drops the RCU read lock, keeping the walk's place.
    pub(crate) fn stop(&mut self) {
        if self.started {
            // SAFETY: started (invariant).
            unsafe { b::rhashtable_walk_stop(self.iter.get()) };
            self.started = false;
        }
    }

    /// Leaves the table; the walk is idle again.
    pub(crate) fn exit(&mut self) {
        self.stop();
        if self.entered {
            // SAFETY: entered and stopped (invariant).
            unsafe { b::rhashtable_walk_exit(self.iter.get()) };
            self.entered = false;
        }
    }
}

impl<A: Addr, V: Value> Drop for Walk<A, V> {
    fn drop(&mut self) {
        self.exit();
    }
}

impl<A: Addr, V: Value> Table<A, V> {
    /// The value of `query`'s mapping and its expiry, live or expired,
    /// without refreshing it (the mapping view).
    pub(crate) fn peek_in(
        &self,
        _rcu: &RcuSection<'_>,
        query: &FlowKey<A>,
    ) -> Option<(V, Jiffies)> {
        // SAFETY: in the caller's RCU read-side section, while `entry` is
        // used.
        let entry = unsafe { &*self.find(query)? };
        Some((entry.value, entry.expires.load(Relaxed)))
    }
}

/// `rhashtable_free_and_destroy` callback: frees one entry at once.
///
/// # Safety
///
/// `ptr` is an `Entry<A>` of a table being destroyed, which nothing else
/// can reach.
unsafe extern "C" fn free_entry<A: Addr, V: Value>(ptr: *mut c_void, _arg: *mut c_void) {
    // SAFETY: entries come from `KBox::into_raw`; each is freed once.
    drop(unsafe { KBox::from_raw(ptr.cast::<Entry<A, V>>()) });
}

#[pinned_drop]
impl<A: Addr, V: Value> PinnedDrop for Table<A, V> {
    fn drop(self: Pin<&mut Self>) {
        // The owner drops the table only when no reader or writer can reach
        // it any more (hooks unregistered after a grace period, no socket
        // of the namespace, sockopt unregistered), so entries go at once.
        // SAFETY: the table is initialised and used by nobody else.
        unsafe {
            b::rhashtable_free_and_destroy(self.ht.get(), Some(free_entry::<A, V>), ptr::null_mut())
        };
        self.budget.give(self.len.load(Relaxed));
    }
}
