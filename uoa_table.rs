// SPDX-License-Identifier: GPL-2.0

//! The mapping table of one network namespace: the flow a UOA packet
//! arrived on, `(saddr, daddr, sport, dport)`, to its real client.
//!
//! One table per address family (`Table<[u8; 4]>`, `Table<[u8; 16]>`), so an
//! IPv4 entry stays small. Buckets are singly linked RCU lists:
//! - lookups (process context, `getsockopt`) take no lock, only the RCU read
//!   lock, and refresh an entry's expiry with one atomic store;
//! - writers (softirq packets, the sweeper) take the bucket's lock stripe
//!   with bottom halves disabled, publish with release stores, and free
//!   replaced or expired entries after a grace period (`kvfree_call_rcu`);
//! - an entry never changes once published, except its expiry: an update
//!   replaces the whole entry, so a reader never sees half of one.
//!
//! There are no per-entry timers: expired entries are skipped by lookups,
//! unlinked when a writer passes them, and swept periodically.
//!
//! The hash covers `(saddr, sport, dport)` only, so a lookup with the
//! wildcard (all zero) `daddr` finds its bucket too. It is the kernel's
//! keyed `hsiphash` with a random key per table, so remote senders cannot
//! aim their flows at one bucket.
//!
//! Times are jiffies in the kernel's own width (`unsigned long`), compared
//! with wrap-around arithmetic as `time_after_eq()` does.
//!
//! The tables of a namespace share a [`Budget`] (`uoa_map_max`): at the cap
//! a new flow is refused (`ENOSPC`, counted by the caller), while mappings
//! already stored keep being refreshed and replaced. Refusing rather than
//! evicting keeps the clients of established flows when a flood of new
//! 4-tuples arrives; room comes back as mappings expire.

use core::ptr;

use kernel::{
    bindings,
    ffi::c_void,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Relaxed, Release},
        rcu, Arc,
    },
};

use crate::{uoa_parse::RealAddr, uoa_sync::SpinLockBh};

/// Jiffies, in the kernel's width.
pub(crate) type Jiffies = kernel::time::Jiffies;

/// An IP address as stored in the table, network order bytes.
pub(crate) trait Addr:
    Copy + Eq + Send + Sync + core::fmt::Debug + AsRef<[u8]> + 'static
{
    /// The all-zero address (wildcard in lookups).
    const UNSPECIFIED: Self;
    /// Keyed hash of this address and the two ports (`ports`).
    fn hash(&self, ports: u32, key: &bindings::hsiphash_key_t) -> u32;
}

impl Addr for [u8; 4] {
    const UNSPECIFIED: Self = [0; 4];
    fn hash(&self, ports: u32, key: &bindings::hsiphash_key_t) -> u32 {
        // SAFETY: `key` is a valid key; plain computation.
        unsafe { bindings::hsiphash_2u32(u32::from_ne_bytes(*self), ports, key) }
    }
}

impl Addr for [u8; 16] {
    const UNSPECIFIED: Self = [0; 16];
    fn hash(&self, ports: u32, key: &bindings::hsiphash_key_t) -> u32 {
        /// The hashed bytes: address, then ports.
        #[repr(C)]
        struct Input([u8; 16], [u8; 4]);
        let input = Input(*self, ports.to_ne_bytes());
        // SAFETY: `input` is 20 readable bytes (the unaligned variant is
        // built in every configuration); `key` is valid.
        unsafe { bindings::__hsiphash_unaligned(ptr::from_ref(&input).cast(), 20, key) }
    }
}

/// A UDP flow as it reaches the real server. Ports in host order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

impl<A: Addr> FlowKey<A> {
    /// Whether this stored key answers `query` (whose `daddr` may be the
    /// wildcard).
    fn answers(&self, query: &FlowKey<A>) -> bool {
        self.saddr == query.saddr
            && self.sport == query.sport
            && self.dport == query.dport
            && (query.daddr == A::UNSPECIFIED || self.daddr == query.daddr)
    }
}

/// One mapping. Immutable once published but for `expires`.
#[repr(C)]
struct Entry<A: Addr> {
    next: Atomic<*mut Entry<A>>,
    expires: Atomic<Jiffies>,
    key: FlowKey<A>,
    real: RealAddr,
    rcu: bindings::kvfree_rcu_head,
}

/// Bytes of kernel memory one mapping of this family takes (the `kmalloc`
/// size class its entry comes from).
pub(crate) fn entry_slab_size<A: Addr>() -> usize {
    // SAFETY: plain computation.
    unsafe { bindings::kmalloc_size_roundup(core::mem::size_of::<Entry<A>>()) }
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

/// Lock stripes per table: writers to different stripes do not contend.
const LOCK_STRIPES: usize = 64;

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
    #[cfg(uoa_kunit)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Relaxed)
    }

    /// The cap.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Takes room for one mapping; false at the cap. Exact under
    /// concurrent writers.
    fn take(&self) -> bool {
        let mut used = self.used.load(Relaxed);
        loop {
            if used >= self.max {
                return false;
            }
            match self.used.cmpxchg(used, used + 1, Relaxed) {
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
/// Every non-null pointer reachable from `buckets` is a live `Entry` made by
/// `KBox::into_raw`, reachable from exactly one link; entries unlinked are
/// freed only after an RCU grace period. `buckets.len()` is a power of two.
#[pin_data(PinnedDrop)]
pub(crate) struct Table<A: Addr> {
    #[pin]
    locks: [SpinLockBh<()>; LOCK_STRIPES],
    buckets: KVVec<Atomic<*mut Entry<A>>>,
    /// `buckets.len() - 1`.
    mask: usize,
    key: bindings::hsiphash_key_t,
    len: Atomic<usize>,
    budget: Arc<Budget>,
}

impl<A: Addr> Table<A> {
    /// Most buckets a table may have: `1 << MAX_BITS`.
    pub(crate) const MAX_BITS: u32 = 24;

    /// An empty table with `1 << bits` buckets (`bits` at most `MAX_BITS`),
    /// whose mappings count against `budget`.
    pub(crate) fn new(bits: u32, budget: Arc<Budget>) -> impl PinInit<Self, Error> {
        let bits = bits.min(Self::MAX_BITS);
        try_pin_init!(Self {
            locks <- pin_init::pin_init_array_from_fn(|_| {
                SpinLockBh::new((), c"uoa_table", kernel::static_lock_class!())
            }),
            buckets: {
                let n = 1usize << bits;
                let mut v = KVVec::with_capacity(n, GFP_KERNEL)?;
                for _ in 0..n {
                    v.push(Atomic::new(ptr::null_mut()), GFP_KERNEL)?;
                }
                v
            },
            mask: (1usize << bits) - 1,
            key: {
                let mut key = bindings::hsiphash_key_t::default();
                // SAFETY: fills the `size_of_val(&key)` bytes of `key`.
                unsafe { bindings::get_random_bytes(ptr::from_mut(&mut key).cast::<c_void>(), size_of_val(&key)) };
                key
            },
            len: Atomic::new(0),
            budget,
        }? Error)
    }

    /// Number of mappings stored (expired ones not yet removed included).
    pub(crate) fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    fn bucket(&self, key: &FlowKey<A>) -> usize {
        let ports = u32::from(key.sport) << 16 | u32::from(key.dport);
        key.saddr.hash(ports, &self.key) as usize & self.mask
    }

    fn lock_of(&self, bucket: usize) -> &SpinLockBh<()> {
        &self.locks[bucket % LOCK_STRIPES]
    }

    /// Frees `entry` after a grace period.
    ///
    /// # Safety
    ///
    /// `entry` is live and no longer reachable from the table.
    unsafe fn retire(entry: *mut Entry<A>) {
        // SAFETY: `entry` came from `KBox::into_raw` (kmalloc), so kvfree
        // after the grace period frees it; readers may still hold it until
        // then. `rcu` is a field of it, unused otherwise.
        unsafe { bindings::kvfree_call_rcu(&raw mut (*entry).rcu, entry.cast()) };
    }

    /// Records `key -> real` valid until jiffies `expires`; replaces the
    /// mapping of the same flow (or only moves its expiry when it is the
    /// same). Entries found expired at `now` on the way are removed. Fails
    /// with `ENOSPC` for a new flow when the budget is spent, `ENOMEM` when
    /// memory is short.
    pub(crate) fn insert(
        &self,
        key: FlowKey<A>,
        real: RealAddr,
        now: Jiffies,
        expires: Jiffies,
    ) -> Result<Stored> {
        let new_entry = || {
            KBox::new(
                Entry {
                    next: Atomic::new(ptr::null_mut()),
                    expires: Atomic::new(expires),
                    key,
                    real,
                    rcu: bindings::kvfree_rcu_head::default(),
                },
                GFP_ATOMIC,
            )
            .map(KBox::into_raw)
        };
        let b = self.bucket(&key);
        let _guard = self.lock_of(b).lock();
        let mut link = &self.buckets[b];
        let mut stored = None;
        loop {
            let cur = link.load(Relaxed);
            if cur.is_null() {
                break;
            }
            // SAFETY: reachable entries are live (invariant); writers are
            // serialised by the stripe lock, so `cur` cannot be freed here.
            let entry = unsafe { &*cur };
            let next = entry.next.load(Relaxed);
            if stored.is_none() && entry.key == key {
                if entry.real == real {
                    entry.expires.store(expires, Relaxed);
                    stored = Some(Stored::Refreshed);
                    link = &entry.next;
                    continue;
                }
                // Swap in place: a concurrent reader sees the old or the new
                // entry, never neither.
                let new = new_entry()?;
                // SAFETY: `new` is ours until published by the store below.
                unsafe { (*new).next.store(next, Relaxed) };
                link.store(new, Release);
                // SAFETY: just unlinked, and live.
                unsafe { Self::retire(cur) };
                stored = Some(Stored::Replaced);
                // SAFETY: `new` is now reachable and live; the lock is held.
                link = unsafe { &(*new).next };
                continue;
            }
            if expired(entry.expires.load(Relaxed), now) {
                link.store(next, Release);
                // SAFETY: just unlinked, and live.
                unsafe { Self::retire(cur) };
                self.len.fetch_sub(1, Relaxed);
                self.budget.give(1);
                continue;
            }
            link = &entry.next;
        }
        if let Some(stored) = stored {
            return Ok(stored);
        }
        if !self.budget.take() {
            return Err(ENOSPC);
        }
        let new = new_entry().inspect_err(|_| self.budget.give(1))?;
        // SAFETY: `new` is ours until published below.
        unsafe { (*new).next.store(self.buckets[b].load(Relaxed), Relaxed) };
        // INVARIANT: `new` is fully initialised before this release store
        // makes it reachable.
        self.buckets[b].store(new, Release);
        self.len.add(1, Relaxed);
        Ok(Stored::New)
    }

    /// The real client of `query` if a mapping is live at `now`; a hit
    /// moves the mapping's expiry to `refresh_to`.
    pub(crate) fn lookup(
        &self,
        query: &FlowKey<A>,
        now: Jiffies,
        refresh_to: Jiffies,
    ) -> Option<RealAddr> {
        let _rcu = rcu::read_lock();
        let mut cur = self.buckets[self.bucket(query)].load(Acquire);
        while !cur.is_null() {
            // SAFETY: reachable entries are live, and an unlinked one is
            // freed only after a grace period, which `_rcu` holds off.
            let entry = unsafe { &*cur };
            if entry.key.answers(query) && !expired(entry.expires.load(Relaxed), now) {
                entry.expires.store(refresh_to, Relaxed);
                return Some(entry.real);
            }
            cur = entry.next.load(Acquire);
        }
        None
    }

    /// Removes every mapping expired at `now`; returns how many. Locks one
    /// bucket at a time, so bottom halves are never off for long.
    pub(crate) fn sweep(&self, now: Jiffies) -> usize {
        let mut removed = 0;
        for (b, head) in self.buckets.iter().enumerate() {
            if head.load(Relaxed).is_null() {
                continue;
            }
            let _guard = self.lock_of(b).lock();
            let mut link = head;
            loop {
                let cur = link.load(Relaxed);
                if cur.is_null() {
                    break;
                }
                // SAFETY: as in `insert`: live, and the lock is held.
                let entry = unsafe { &*cur };
                if expired(entry.expires.load(Relaxed), now) {
                    link.store(entry.next.load(Relaxed), Release);
                    // SAFETY: just unlinked, and live.
                    unsafe { Self::retire(cur) };
                    removed += 1;
                } else {
                    link = &entry.next;
                }
            }
        }
        self.len.fetch_sub(removed, Relaxed);
        self.budget.give(removed);
        removed
    }
}

#[pinned_drop]
impl<A: Addr> PinnedDrop for Table<A> {
    fn drop(self: Pin<&mut Self>) {
        // The owner drops the table only when no reader or writer can reach
        // it any more (hooks unregistered after a grace period, no socket
        // of the namespace, sockopt unregistered), so entries go at once.
        for head in self.buckets.iter() {
            let mut cur = head.load(Relaxed);
            while !cur.is_null() {
                // SAFETY: live and reachable only from here (invariant and
                // the above); each is freed once.
                let entry = unsafe { KBox::from_raw(cur) };
                cur = entry.next.load(Relaxed);
            }
        }
        self.budget.give(self.len.load(Relaxed));
    }
}
