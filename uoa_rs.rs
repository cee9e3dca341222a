// SPDX-License-Identifier: GPL-2.0

//! uoa: UDP Option of Address, for the real servers behind a FullNAT
//! layer-4 load balancer.
//!
//! The balancer rewrites the source of UDP packets and carries the original
//! client address and port as a UOA (an IPv4 option, or a private protocol
//! 248 header). This module takes it out of the packets in every network
//! namespace and answers `getsockopt(fd, IPPROTO_IP, UOA_SO_GET_LOOKUP)`.
//!
//! This file holds the module, its parameters and the lifetimes of what it
//! registers; packet parsing is in `uoa_parse`, and each C API has a small
//! wrapper module (`uoa_netfilter`, `uoa_pernet`, `uoa_proc`, `uoa_stats`,
//! `uoa_skb`) so that the rest is safe Rust.

use core::ptr;

use kernel::{
    bindings, c_str,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::Arc,
    uaccess::{UserPtr, UserSlice},
};

mod uoa_bindings;
mod uoa_datapath;
mod uoa_mappings;
mod uoa_netfilter;
mod uoa_parse;
mod uoa_pernet;
mod uoa_prefix;
mod uoa_proc;
mod uoa_rcu;
mod uoa_skb;
mod uoa_stats;
mod uoa_table;
mod uoa_trusted;
mod uoa_work;

#[cfg(uoa_kunit)]
#[path = "kunit/uoa_kunit.rs"]
mod uoa_kunit;

#[cfg(any(uoa_kunit, uoa_bench))]
#[path = "kunit/uoa_test_skb.rs"]
mod uoa_test_skb;

#[cfg(uoa_bench)]
#[path = "bench/uoa_bench.rs"]
mod uoa_bench;

use uoa_bindings as b;
use uoa_datapath::UoaNet;
use uoa_mappings::MappingsFile;
use uoa_netfilter::{
    HookPoint, HookRegistration, Ipv6Defrag, RetiredHooks, SockRef, SockoptGet, SockoptRegistration,
};
use uoa_parse::{
    array_at, decode_legacy, decode_lookup, encode_legacy, encode_real, put_at, BdLookup, RealAddr,
    UoaFormat, ANSWER_LEN, BD_LOOKUP_MAX, BD_LOOKUP_V2, LEGACY_LEN, PARAM_MAP_LEN, QUERY_LEN,
};
use uoa_pernet::PernetRegistration;
use uoa_proc::{ProcEntry, ProcShow};
use uoa_stats::{possible_cpus, Stat};
use uoa_table::entry_slab_size;

module! {
    type: UoaModule,
    name: "uoa",
    authors: ["uoa-rs developers"],
    description: "UDP Option of Address (UOA) for FullNAT real servers",
    license: "GPL",
    params: {
        uoa_debug: i32 {
            default: 0,
            description: "1: log each mapping (rate-limited); 0: quiet",
        },
        uoa_map_timeout: i32 {
            default: 360,
            description: "seconds a mapping lives after its last update or lookup (1-86400)",
        },
        uoa_map_tab_bits: i32 {
            default: 12,
            description: "log2 of the hash buckets per table, per namespace and family (4-20)",
        },
        uoa_hook_forward: i32 {
            default: 0,
            description: "1: also parse UOA in the FORWARD chain (routed to containers)",
        },
        uoa_map_max: i32 {
            default: 1048576,
            description: "most mappings per network namespace; new flows beyond are refused (1-67108864)",
        },
        v6_to_v4_enable: i32 {
            default: 0,
            description: "1: lookups 2049 and 2050 answer IPv6 clients under v6_to_v4_prefix_str as IPv4 (ByteDance's parameter)",
        },
    },
}

/// The `getsockopt` option number of the lookup (`UOA_SO_GET_LOOKUP`).
pub(crate) const UOA_SO_GET_LOOKUP: i32 = b::UOA_SO_GET_LOOKUP as i32;
// The C header's struct and the Rust encoding agree on the layout.
const _: () = {
    assert!(core::mem::size_of::<b::uoa_param_map>() == PARAM_MAP_LEN);
    assert!(core::mem::offset_of!(b::uoa_param_map, sport) == 34);
    assert!(core::mem::offset_of!(b::uoa_param_map, real_af) == 38);
    assert!(core::mem::offset_of!(b::uoa_param_map, real_saddr) == 40);
    assert!(core::mem::offset_of!(b::uoa_param_map, real_sport) == 56);
};

/// The `v6_to_v4_prefix_str` parameter as given (`uoa_params.c`); not
/// UTF-8: a text no address parses from.
fn v6_to_v4_prefix_str() -> &'static str {
    // SAFETY: the parameter is a NUL-terminated string that lives, read
    // only (mode 0444), as long as the module.
    let text = unsafe { kernel::str::CStr::from_char_ptr(b::uoa_v6_to_v4_prefix_str()) };
    text.to_str().unwrap_or("?")
}

/// `net_ratelimit()`: whether a rate-limited networking message may print.
pub(crate) fn net_ratelimit() -> bool {
    // SAFETY: plain call, any context.
    unsafe { bindings::net_ratelimit() != 0 }
}

/// A module parameter outside its range.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ParamError {
    /// `uoa_debug` is not 0 or 1.
    Debug(i32),
    /// `uoa_map_timeout` is not in 1..=86400.
    MapTimeout(i32),
    /// `uoa_map_tab_bits` is not in 4..=20.
    MapTabBits(i32),
    /// `uoa_hook_forward` is not 0 or 1.
    HookForward(i32),
    /// `uoa_map_max` is not in 1..=`Config::MAX_MAP_MAX`.
    MapMax(i32),
    /// `v6_to_v4_enable` is not 0 or 1.
    V6ToV4Enable(i32),
    /// `v6_to_v4_prefix_str` is not an IPv6 address (checked when
    /// `v6_to_v4_enable=1`).
    V6ToV4Prefix,
}

/// The module parameters as given, unchecked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawParams {
    /// `uoa_debug`.
    pub(crate) debug: i32,
    /// `uoa_map_timeout`.
    pub(crate) map_timeout: i32,
    /// `uoa_map_tab_bits`.
    pub(crate) map_tab_bits: i32,
    /// `uoa_hook_forward`.
    pub(crate) hook_forward: i32,
    /// `uoa_map_max`.
    pub(crate) map_max: i32,
    /// `v6_to_v4_enable`.
    pub(crate) v6_to_v4_enable: i32,
    /// `v6_to_v4_prefix_str`.
    pub(crate) v6_to_v4_prefix: &'static str,
}

/// The validated module parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Config {
    /// Log mappings.
    pub(crate) debug: bool,
    /// Lifetime of a mapping, seconds.
    pub(crate) map_timeout_secs: u32,
    /// log2 of the bucket count of each table.
    pub(crate) map_tab_bits: u32,
    /// Hook FORWARD too.
    pub(crate) hook_forward: bool,
    /// Most mappings per namespace.
    pub(crate) map_max: u32,
    /// With `v6_to_v4_enable=1`: the 96-bit prefix of IPv6 clients that
    /// ByteDance's lookups answer as IPv4.
    pub(crate) nat64: Option<[u8; 12]>,
}

impl Config {
    /// Longest mapping lifetime accepted: one day.
    pub(crate) const MAX_TIMEOUT_SECS: i32 = 86400;
    /// Highest `uoa_map_max`: 64 Mi mappings, 4 GiB of IPv4 mappings.
    pub(crate) const MAX_MAP_MAX: i32 = 1 << 26;

    /// Checks raw parameter values.
    pub(crate) fn new(raw: RawParams) -> Result<Self, ParamError> {
        let flag = |v: i32, e: fn(i32) -> ParamError| match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(e(v)),
        };
        if !(1..=Self::MAX_TIMEOUT_SECS).contains(&raw.map_timeout) {
            return Err(ParamError::MapTimeout(raw.map_timeout));
        }
        if !(4..=20).contains(&raw.map_tab_bits) {
            return Err(ParamError::MapTabBits(raw.map_tab_bits));
        }
        if !(1..=Self::MAX_MAP_MAX).contains(&raw.map_max) {
            return Err(ParamError::MapMax(raw.map_max));
        }
        let nat64 = if flag(raw.v6_to_v4_enable, ParamError::V6ToV4Enable)? {
            let prefix = raw
                .v6_to_v4_prefix
                .parse::<core::net::Ipv6Addr>()
                .map_err(|_| ParamError::V6ToV4Prefix)?;
            Some(array_at(&prefix.octets(), 0))
        } else {
            None
        };
        Ok(Self {
            debug: flag(raw.debug, ParamError::Debug)?,
            map_timeout_secs: raw.map_timeout as u32,
            map_tab_bits: raw.map_tab_bits as u32,
            hook_forward: flag(raw.hook_forward, ParamError::HookForward)?,
            map_max: raw.map_max as u32,
            nat64,
        })
    }

    /// The configuration `insmod` was given; logs and fails with `EINVAL`
    /// on a bad value.
    fn from_module_params() -> Result<Self> {
        Self::new(RawParams {
            debug: module_parameters::uoa_debug.value(),
            map_timeout: module_parameters::uoa_map_timeout.value(),
            map_tab_bits: module_parameters::uoa_map_tab_bits.value(),
            hook_forward: module_parameters::uoa_hook_forward.value(),
            map_max: module_parameters::uoa_map_max.value(),
            v6_to_v4_enable: module_parameters::v6_to_v4_enable.value(),
            v6_to_v4_prefix: v6_to_v4_prefix_str(),
        })
        .map_err(|e| {
            match e {
                ParamError::Debug(v) => pr_err!("uoa_debug={v}: must be 0 or 1\n"),
                ParamError::MapTimeout(v) => {
                    pr_err!(
                        "uoa_map_timeout={v}: must be 1 to {} seconds\n",
                        Self::MAX_TIMEOUT_SECS
                    )
                }
                ParamError::MapTabBits(v) => pr_err!("uoa_map_tab_bits={v}: must be 4 to 20\n"),
                ParamError::HookForward(v) => pr_err!("uoa_hook_forward={v}: must be 0 or 1\n"),
                ParamError::MapMax(v) => {
                    pr_err!(
                        "uoa_map_max={v}: must be 1 to {} mappings\n",
                        Self::MAX_MAP_MAX
                    )
                }
                ParamError::V6ToV4Enable(v) => pr_err!("v6_to_v4_enable={v}: must be 0 or 1\n"),
                ParamError::V6ToV4Prefix => pr_err!(
                    "v6_to_v4_prefix_str={}: not an IPv6 address\n",
                    v6_to_v4_prefix_str()
                ),
            }
            EINVAL
        })
    }

    /// How often expired mappings are swept: a quarter of their lifetime,
    /// 1 to 60 seconds; in jiffies.
    pub(crate) fn sweep_period(&self) -> kernel::time::Jiffies {
        kernel::time::msecs_to_jiffies((self.map_timeout_secs / 4).clamp(1, 60) * 1000)
    }

    /// Where packets are inspected: LOCAL_IN always, FORWARD on request.
    /// Priority just after destination NAT (-99), so that the mapping is
    /// keyed by the addresses the socket sees, and before the filter (0),
    /// so that INPUT rules see plain UDP. DPVS hooks later, after the
    /// filter (NAT_SRC + 1); the README's "Hook placement" says what the
    /// difference means for firewalls, conntrack and NAT.
    fn hook_points(&self) -> &'static [HookPoint] {
        const IPV4_PRI: i32 = b::nf_ip_hook_priorities_NF_IP_PRI_NAT_DST + 1;
        const IPV6_PRI: i32 = b::nf_ip6_hook_priorities_NF_IP6_PRI_NAT_DST + 1;
        static POINTS: [HookPoint; 4] = [
            HookPoint::ipv4(b::nf_inet_hooks_NF_INET_LOCAL_IN, IPV4_PRI),
            HookPoint::ipv6(b::nf_inet_hooks_NF_INET_LOCAL_IN, IPV6_PRI),
            HookPoint::ipv4(b::nf_inet_hooks_NF_INET_FORWARD, IPV4_PRI),
            HookPoint::ipv6(b::nf_inet_hooks_NF_INET_FORWARD, IPV6_PRI),
        ];
        if self.hook_forward {
            &POINTS
        } else {
            &POINTS[..2]
        }
    }
}

/// `/proc/net/uoa_stats`: the DPVS layout, summed over CPUs.
struct StatsFile(Arc<UoaNet>);

/// The seven DPVS columns, in order.
const DPVS_COLUMNS: [Stat; 7] = [
    Stat::LookupSuccess,
    Stat::LookupMiss,
    Stat::LookupInvalid,
    Stat::UoaGot,
    Stat::UoaNone,
    Stat::UoaSaved,
    Stat::AckFail,
];
const DPVS_HEADER: &str = " Success     Miss  Invalid|UOA  Got     None    Saved Ack-Fail";

fn print_columns(m: &SeqFile, value: impl Fn(Stat) -> u64) {
    let v = DPVS_COLUMNS.map(value);
    seq_print!(
        m,
        "{:8} {:8} {:8} {:8} {:8} {:8} {:8}\n",
        v[0],
        v[1],
        v[2],
        v[3],
        v[4],
        v[5],
        v[6]
    );
}

impl ProcShow for StatsFile {
    fn show(&self, m: &SeqFile) {
        seq_print!(m, "{}\n", DPVS_HEADER);
        print_columns(m, |s| self.0.stats.read(s));
    }
}

/// `/proc/net/uoa_stats_percpu`: the same, one line per possible CPU.
struct PercpuStatsFile(Arc<UoaNet>);

impl ProcShow for PercpuStatsFile {
    fn show(&self, m: &SeqFile) {
        seq_print!(m, "CPU  {}\n", DPVS_HEADER);
        for cpu in possible_cpus() {
            seq_print!(m, "{:3X}  ", cpu);
            print_columns(m, |s| self.0.stats.read_cpu(cpu, s));
        }
    }
}

/// `/proc/net/uoa_stats_extra`: what the DPVS layout has no column for,
/// one "name value" line each.
struct ExtraStatsFile(Arc<UoaNet>);

impl ProcShow for ExtraStatsFile {
    fn show(&self, m: &SeqFile) {
        let uoa = &self.0;
        seq_print!(m, "malformed {}\n", uoa.stats.read(Stat::UoaMalformed));
        seq_print!(m, "fragments {}\n", uoa.stats.read(Stat::Fragment));
        seq_print!(m, "strip_failed {}\n", uoa.stats.read(Stat::StripFailed));
        seq_print!(m, "mappings_ipv4 {}\n", uoa.v4.len());
        seq_print!(m, "mappings_ipv6 {}\n", uoa.v6.len());
        seq_print!(m, "mappings_max {}\n", uoa.budget.max());
        seq_print!(m, "map_full {}\n", uoa.stats.read(Stat::MapFull));
        seq_print!(m, "untrusted {}\n", uoa.stats.read(Stat::Untrusted));
        seq_print!(m, "insert_failed {}\n", uoa.stats.read(Stat::InsertFailed));
        seq_print!(m, "opp_dropped {}\n", uoa.stats.read(Stat::OppDropped));
        seq_print!(m, "stale_removed {}\n", uoa.stats.read(Stat::StaleRemoved));
        seq_print!(m, "gso {}\n", uoa.stats.read(Stat::Gso));
        for format in UoaFormat::ALL {
            let count = uoa.stats.read(Stat::format(format));
            seq_print!(m, "format_{} {}\n", format.name(), count);
        }
        seq_print!(m, "table_bytes_ipv4 {}\n", uoa.v4.memory());
        seq_print!(m, "table_bytes_ipv6 {}\n", uoa.v6.memory());
        let (bytes4, bytes6) = (
            entry_slab_size::<[u8; 4], RealAddr>(),
            entry_slab_size::<[u8; 16], RealAddr>(),
        );
        seq_print!(m, "mapping_bytes_ipv4 {}\n", bytes4);
        seq_print!(m, "mapping_bytes_ipv6 {}\n", bytes6);
    }
}

/// Everything the module holds in one network namespace. The hooks go first,
/// in the namespace's `pre_exit`; the rest after the grace period that
/// follows, in order: files, sweeper, tables.
pub(crate) struct NetState {
    /// First, so that dropping the state stops packets before the rest.
    hooks: Hooks,
    _defrag: Ipv6Defrag,
    _stats_file: ProcEntry<StatsFile>,
    _percpu_file: ProcEntry<PercpuStatsFile>,
    _extra_file: ProcEntry<ExtraStatsFile>,
    _mappings_file: MappingsFile,
    uoa: Arc<UoaNet>,
}

impl NetState {
    /// Sets the module up in `net`.
    ///
    /// # Safety
    ///
    /// `net` is a namespace being initialised, live until this state is
    /// dropped in its exit.
    unsafe fn new(net: *mut bindings::net) -> Result<KBox<Self>> {
        let config = Config::from_module_params()?;
        // The initial namespace, where a server's traffic usually arrives,
        // starts at `uoa_map_tab_bits`; the others (containers) start small,
        // so that an idle one costs little. All grow as they fill.
        let table_bits = if ptr::eq(net, &raw const bindings::init_net) {
            config.map_tab_bits
        } else {
            0
        };
        let uoa = Arc::pin_init(UoaNet::new(config, table_bits)?, GFP_KERNEL)?;
        // SAFETY: `net` is live (caller); `proc_net` is set before pernet
        // subsystems are initialised and removed after they exit.
        let proc_net = unsafe { (*net).proc_net };
        // SAFETY: `proc_net` outlives this state (above).
        let stats_file = unsafe {
            ProcEntry::new(
                proc_net,
                c_str!("uoa_stats"),
                Arc::new(StatsFile(uoa.clone()), GFP_KERNEL)?,
            )
        }?;
        // SAFETY: as above.
        let percpu_file = unsafe {
            ProcEntry::new(
                proc_net,
                c_str!("uoa_stats_percpu"),
                Arc::new(PercpuStatsFile(uoa.clone()), GFP_KERNEL)?,
            )
        }?;
        // SAFETY: as above.
        let extra_file = unsafe {
            ProcEntry::new(
                proc_net,
                c_str!("uoa_stats_extra"),
                Arc::new(ExtraStatsFile(uoa.clone()), GFP_KERNEL)?,
            )
        }?;
        // SAFETY: as above.
        let mappings_file = unsafe { MappingsFile::new(proc_net, uoa.clone()) }?;
        // SAFETY: `net` outlives this state (caller).
        let defrag = unsafe { Ipv6Defrag::new(net) }?;
        let mut state = KBox::new(
            Self {
                hooks: Hooks::None,
                _defrag: defrag,
                _stats_file: stats_file,
                _percpu_file: percpu_file,
                _extra_file: extra_file,
                _mappings_file: mappings_file,
                uoa,
            },
            GFP_KERNEL,
        )?;
        // Last, so that nothing can fail once packets arrive.
        // SAFETY: `net` outlives this state (caller), which owns the
        // registration.
        let hooks = unsafe { HookRegistration::new(net, config.hook_points(), state.uoa.clone()) }?;
        state.hooks = Hooks::Registered(hooks);
        Ok(state)
    }

    /// Unregisters the hooks (the namespace's `pre_exit`). Hooks in flight
    /// and netfilter's RCU readers may still use the ops until the grace
    /// period the namespace code lets pass before `exit`.
    pub(crate) fn stop_hooks(&mut self) {
        if let Hooks::Registered(r) = core::mem::replace(&mut self.hooks, Hooks::None) {
            self.hooks = Hooks::Retired(r.unregister());
        }
    }

    /// Frees what `stop_hooks` kept for readers (the namespace's `exit`).
    /// Without it, dropping the state waits for a grace period itself.
    ///
    /// # Safety
    ///
    /// An RCU grace period has passed since `stop_hooks`.
    pub(crate) unsafe fn free_stopped_hooks(&mut self) {
        if let Hooks::Retired(r) = core::mem::replace(&mut self.hooks, Hooks::None) {
            // SAFETY: a grace period has passed since they were
            // unregistered (caller).
            unsafe { r.free_after_grace_period() };
        }
    }
}

/// The hooks of a namespace through its life.
enum Hooks {
    /// Not registered yet (or freed).
    None,
    /// Packets reach the module.
    Registered(HookRegistration<UoaNet>),
    /// Unregistered in `pre_exit`, freed in `exit`.
    Retired(RetiredHooks<UoaNet>),
}

/// The `UOA_SO_GET_LOOKUP` socket option.
struct Lookup;

/// Bytes of `struct uoa_param_map` a lookup reads: the input half and
/// `real_af` (five words).
const LOOKUP_IN: usize = QUERY_LEN + 2;
/// Bytes it writes back, from `sport` on: the ports as read, then the
/// answer (three words).
const LOOKUP_OUT: usize = 4 + ANSWER_LEN;
const _: () = assert!(LOOKUP_IN % 8 == 0 && LOOKUP_OUT % 8 == 0);

impl SockoptGet for Lookup {
    // 2048 (DPVS's layout; the legacy one by its length, 18), and
    // ByteDance's 2049 and 2050.
    const RANGE: core::ops::Range<i32> = UOA_SO_GET_LOOKUP..BD_LOOKUP_V2 + 1;

    fn get(sock: &SockRef, optval: i32, user: UserPtr, len: &mut i32) -> Result {
        // SAFETY: the caller's socket holds its namespace.
        let state = unsafe { uoa_pernet::state(sock.net()) }.ok_or(ENOENT)?;
        let stats = &state.uoa.stats;
        // A length too short is refused; a longer one is answered with the
        // struct's size (a negative one never gets here: the IP layer
        // refuses it). Other layouts go their own way.
        if optval != UOA_SO_GET_LOOKUP || usize::try_from(*len).map_or(true, |l| l < PARAM_MAP_LEN)
        {
            return vendor_lookup(&state.uoa, sock, optval, user, len);
        }
        // Mappings are of UDP flows: a TCP (or raw) socket's flow with the
        // same addresses is another flow, whose client is not known.
        if !sock.is_udp() {
            stats.inc(Stat::LookupInvalid);
            return Err(EOPNOTSUPP);
        }
        // The application sees the same bytes as if the whole struct went
        // both ways, as in DPVS, for fewer bytes copied: in, the input half
        // and the word after it; out, the answer after the ports as read.
        // Each is whole 8-byte words, which the kernel copies fastest.
        let Ok(map) = UserSlice::new(user, LOOKUP_IN)
            .reader()
            .read::<[u8; LOOKUP_IN]>()
        else {
            stats.inc(Stat::LookupInvalid);
            return Err(EFAULT);
        };
        let Some(query) = decode_lookup(&array_at(&map, 0)) else {
            stats.inc(Stat::LookupInvalid);
            return Err(EINVAL);
        };
        let Some(real) = state.uoa.lookup(&query) else {
            stats.inc(Stat::LookupMiss);
            return Err(ENOENT);
        };
        let mut out = [0u8; LOOKUP_OUT];
        put_at::<4>(&mut out, 0, array_at(&map, QUERY_LEN - 4));
        put_at(&mut out, 4, encode_real(&real));
        let answer = UserSlice::new(user.wrapping_byte_add(QUERY_LEN - 4), LOOKUP_OUT);
        if answer.writer().write(&out).is_err() {
            stats.inc(Stat::LookupInvalid);
            return Err(EFAULT);
        }
        *len = PARAM_MAP_LEN as i32;
        stats.inc(Stat::LookupSuccess);
        Ok(())
    }
}

/// The lookups of other layouts than DPVS's: the legacy IPv4 one on 2048
/// (exactly 18 bytes), and ByteDance's 2049 and 2050 (`len` at least their
/// struct's size; exactly that many bytes are written back). Any other
/// length is `EINVAL`; a miss is `ENOENT`, as for DPVS's layout (where
/// ByteDance's module answers `ENOMEM`).
#[cold]
#[inline(never)]
fn vendor_lookup(
    uoa: &UoaNet,
    sock: &SockRef,
    optval: i32,
    user: UserPtr,
    len: &mut i32,
) -> Result {
    let stats = &uoa.stats;
    let given = usize::try_from(*len).unwrap_or(0);
    let layout = BdLookup::of(optval);
    let size = match layout {
        Some(l) => l.len(),
        None => LEGACY_LEN,
    };
    let fits = match layout {
        Some(_) => given >= size,
        None => optval == UOA_SO_GET_LOOKUP && given == LEGACY_LEN,
    };
    if !fits {
        stats.inc(Stat::LookupInvalid);
        return Err(EINVAL);
    }
    if !sock.is_udp() {
        stats.inc(Stat::LookupInvalid);
        return Err(EOPNOTSUPP);
    }
    let mut buf = [0u8; BD_LOOKUP_MAX];
    if UserSlice::new(user, size)
        .reader()
        .read_slice(&mut buf[..size])
        .is_err()
    {
        stats.inc(Stat::LookupInvalid);
        return Err(EFAULT);
    }
    let query = match layout {
        Some(l) => l.decode(&buf),
        None => Some(decode_legacy(&array_at(&buf, 0))),
    };
    let Some(query) = query else {
        stats.inc(Stat::LookupInvalid);
        return Err(EINVAL);
    };
    let answer = uoa
        .lookup_with_extra(&query)
        .and_then(|(real, extra)| match layout {
            Some(l) => Some(l.encode(&real, &extra, uoa.nat64.as_ref())),
            None => encode_legacy(&array_at(&buf, 0), &real).map(|a| {
                let mut out = [0u8; BD_LOOKUP_MAX];
                put_at(&mut out, 0, a);
                out
            }),
        });
    let Some(out) = answer else {
        stats.inc(Stat::LookupMiss);
        return Err(ENOENT);
    };
    if UserSlice::new(user, size)
        .writer()
        .write_slice(&out[..size])
        .is_err()
    {
        stats.inc(Stat::LookupInvalid);
        return Err(EFAULT);
    }
    *len = size as i32;
    stats.inc(Stat::LookupSuccess);
    Ok(())
}

struct UoaModule {
    _sockopt: SockoptRegistration<Lookup>,
    _pernet: PernetRegistration,
}

impl kernel::Module for UoaModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let config = Config::from_module_params()?;
        #[cfg(uoa_bench)]
        uoa_bench::run()?;
        let pernet = PernetRegistration::new()?;
        let sockopt = SockoptRegistration::new(module)?;
        uoa_trusted::with_list(|trusted| {
            pr_info!(
                "loaded: map timeout {}s, {} buckets per table, at most {} mappings per namespace, FORWARD hooks {}, UOA trusted from {}\n",
                config.map_timeout_secs,
                1u32 << config.map_tab_bits,
                config.map_max,
                if config.hook_forward { "on" } else { "off" },
                if trusted.is_open() { &"any source" as &dyn kernel::fmt::Display } else { trusted }
            )
        });
        Ok(Self {
            _sockopt: sockopt,
            _pernet: pernet,
        })
    }
}
