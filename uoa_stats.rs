// SPDX-License-Identifier: GPL-2.0

//! Per-CPU statistics counters of one network namespace.
//!
//! Every increment is one `this_cpu_inc()`: safe from any context (softirq
//! packet path, process-context lookups) without locks or atomics. Readers
//! add up all possible CPUs.

use kernel::{bindings, error::code::ENOMEM, prelude::*};

use crate::{uoa_bindings as b, uoa_parse::UoaFormat};

/// The counters, in the order of `/proc/net/uoa_stats` (DPVS layout) and
/// then those this module adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Stat {
    /// Lookups answered with a mapping.
    LookupSuccess = 0,
    /// Lookups that found no mapping (`ENOENT`).
    LookupMiss,
    /// Lookups refused as invalid (`EINVAL`, `EFAULT`).
    LookupInvalid,
    /// Packets that carried a valid UOA.
    UoaGot,
    /// UDP packets without UOA.
    UoaNone,
    /// Mappings stored.
    UoaSaved,
    /// Always 0: no acknowledgement is ever sent.
    AckFail,
    /// Packets whose UOA or opp header is malformed (nothing stored).
    UoaMalformed,
    /// Fragments left alone.
    Fragment,
    /// opp headers that could not be removed (no memory to unshare).
    StripFailed,
    /// New flows not stored: the namespace holds `uoa_map_max` mappings.
    MapFull,
    /// UOA from a source outside `uoa_trusted` (nothing stored).
    Untrusted,
    /// Mappings not stored for want of memory, or a chain at its limit.
    InsertFailed,
    /// opp packets dropped in LOCAL_IN: malformed, or their header could
    /// not be removed.
    OppDropped,
    /// Mappings removed because the new client of their flow could not be
    /// stored (no memory): lookups then miss rather than name the old one.
    StaleRemoved,
    /// GSO packets with a UOA option or an opp header, not inspected (the
    /// opp ones dropped in LOCAL_IN).
    Gso,
    /// Valid UOAs by wire form (`UoaFormat`), in `UoaFormat::ALL`'s order.
    FormatIpv4Option,
    FormatOpp,
    FormatBytedanceOption,
    FormatBytedanceVniOption,
    FormatBytedanceOpp,
    FormatBytedanceDstopt,
    FormatBytedanceVniDstopt,
    FormatHuaweiDstopt,
}

impl Stat {
    /// The counter of valid UOAs in `format`.
    #[inline(always)]
    pub(crate) fn format(format: UoaFormat) -> Stat {
        match format {
            UoaFormat::Ipv4Option => Stat::FormatIpv4Option,
            UoaFormat::Opp => Stat::FormatOpp,
            UoaFormat::BytedanceOption => Stat::FormatBytedanceOption,
            UoaFormat::BytedanceVniOption => Stat::FormatBytedanceVniOption,
            UoaFormat::BytedanceOpp => Stat::FormatBytedanceOpp,
            UoaFormat::BytedanceDstopt => Stat::FormatBytedanceDstopt,
            UoaFormat::BytedanceVniDstopt => Stat::FormatBytedanceVniDstopt,
            UoaFormat::HuaweiDstopt => Stat::FormatHuaweiDstopt,
        }
    }
}

/// Number of counters.
pub(crate) const STAT_COUNT: usize = Stat::FormatHuaweiDstopt as usize + 1;

/// Per-CPU `u64` counters, freed on drop.
///
/// # Invariants
///
/// `counters` is a live per-CPU allocation of `STAT_COUNT` `u64`s.
pub(crate) struct Stats {
    counters: *mut u64,
}

// SAFETY: the per-CPU memory is only touched through `this_cpu_inc` and
// `READ_ONCE`, which are safe from any CPU and context.
unsafe impl Send for Stats {}
// SAFETY: as above; `&Stats` gives no access other than those two.
unsafe impl Sync for Stats {}

impl Stats {
    /// Allocates zeroed counters.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: plain allocation call; per-CPU memory comes zeroed.
        let counters = unsafe { b::uoa_alloc_counters(STAT_COUNT as u32) };
        if counters.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: just allocated with room for `STAT_COUNT` counters.
        Ok(Self { counters })
    }

    /// Adds one to `stat` on this CPU.
    #[inline(always)]
    pub(crate) fn inc(&self, stat: Stat) {
        // On x86-64 SMP kernels, the one instruction `this_cpu_inc()`
        // compiles to, inline: every packet counts once, and a call to the C
        // wrapper would double the cost of the fast path.
        #[cfg(all(target_arch = "x86_64", CONFIG_SMP))]
        // SAFETY: `counters` is a live per-CPU allocation of `STAT_COUNT`
        // counters (invariant) and `stat < STAT_COUNT`, so `%gs:` plus that
        // per-CPU address is this CPU's counter. A single instruction cannot
        // be split by an interrupt or by preemption.
        unsafe {
            core::arch::asm!(
                "inc qword ptr gs:[{0}]",
                in(reg) self.counters.wrapping_add(stat as usize),
                options(nostack)
            )
        };
        #[cfg(not(all(target_arch = "x86_64", CONFIG_SMP)))]
        // SAFETY: by the type invariant `counters` is live and `stat` is
        // below `STAT_COUNT`.
        unsafe {
            b::uoa_this_cpu_inc(self.counters, stat as u32)
        }
    }

    /// `inc` of the counter at index `S` (`Stat::X as usize`), for the
    /// fast path: the counter's offset folds into the instruction.
    #[inline(always)]
    pub(crate) fn inc_const<const S: usize>(&self) {
        const { assert!(S < STAT_COUNT) };
        #[cfg(all(target_arch = "x86_64", CONFIG_SMP))]
        // SAFETY: as in `inc`, with `S < STAT_COUNT` (asserted above).
        unsafe {
            core::arch::asm!(
                "inc qword ptr gs:[{0} + {1}]",
                in(reg) self.counters,
                const S * core::mem::size_of::<u64>(),
                options(nostack)
            )
        };
        #[cfg(not(all(target_arch = "x86_64", CONFIG_SMP)))]
        // SAFETY: as in `inc`, with `S < STAT_COUNT` (asserted above).
        unsafe {
            b::uoa_this_cpu_inc(self.counters, S as u32)
        }
    }

    /// The value of `stat` on `cpu`.
    pub(crate) fn read_cpu(&self, cpu: i32, stat: Stat) -> u64 {
        // SAFETY: `counters` is live (invariant), `cpu` a possible CPU
        // (callers take it from `possible_cpus`), `stat < STAT_COUNT`.
        unsafe { b::uoa_per_cpu_read(self.counters, cpu, stat as u32) }
    }

    /// The sum of `stat` over all CPUs.
    pub(crate) fn read(&self, stat: Stat) -> u64 {
        possible_cpus().map(|cpu| self.read_cpu(cpu, stat)).sum()
    }
}

impl Drop for Stats {
    fn drop(&mut self) {
        // SAFETY: allocated by `uoa_alloc_counters` (`__alloc_percpu`) (invariant), freed once.
        unsafe { bindings::free_percpu(self.counters.cast()) }
    }
}

/// Iterates over the possible CPUs.
pub(crate) fn possible_cpus() -> impl Iterator<Item = i32> {
    // SAFETY: `nr_cpu_ids` is set during early boot and never changes after.
    let nr = unsafe { bindings::nr_cpu_ids } as i32;
    let mut cpu = -1;
    core::iter::from_fn(move || {
        // SAFETY: `cpumask_next` on the global possible mask, any `cpu >= -1`.
        cpu = unsafe { b::uoa_next_possible_cpu(cpu) };
        (cpu < nr).then_some(cpu)
    })
}
