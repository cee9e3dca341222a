// SPDX-License-Identifier: GPL-2.0

//! Benchmark build (`make BENCH=1`): when loaded, times the module's own
//! packet path and lookup, and prints the figures. Run it under QEMU with
//! `-icount shift=0,sleep=off` (`scripts/bench.sh`): a guest nanosecond is
//! then one executed instruction, and the figures repeat exactly.
//!
//! Each packet case runs twice over the same fresh packets, once through
//! the hook and once not; the difference is the hook's cost alone.

use crate::{
    uoa_datapath::UoaNet,
    uoa_netfilter::{Chain, HookCall, PacketHandler},
    uoa_parse::{LookupQuery, RealAddr, IPOPT_UOA},
    uoa_rcu::RcuSection,
    uoa_table::{jiffies, FlowKey},
    uoa_test_skb::*,
};
use kernel::{bindings, prelude::*, sync::Arc};

/// Packets (and lookups) per measurement.
const ROUNDS: u16 = 20000;

/// Guest nanoseconds per call of `f(0..ROUNDS)`.
fn per_round(mut f: impl FnMut(u16)) -> i64 {
    // SAFETY: plain clock reads.
    let t0 = unsafe { bindings::ktime_get() };
    for i in 0..ROUNDS {
        f(i);
    }
    // SAFETY: as above.
    let t1 = unsafe { bindings::ktime_get() };
    (t1 - t0) / i64::from(ROUNDS)
}

/// Sets the UDP source port of an IPv4 packet with a 20-byte header and
/// `middle` bytes before UDP.
fn set_sport(pkt: &mut [u8], middle: usize, port: u16) {
    pkt[20 + middle..22 + middle].copy_from_slice(&port.to_be_bytes());
}

/// The hook's cost per packet: `bytes` (its source port set by `vary` each
/// round) through the IPv4 hook, minus making and freeing the same packets.
fn hook_cost(
    uoa: &crate::uoa_datapath::UoaNet,
    bytes: KVec<u8>,
    ipv6: bool,
    vary: Option<usize>,
) -> i64 {
    chain_cost(uoa, bytes, ipv6, vary, Chain::LocalIn)
}

/// `hook_cost` in the given chain (FORWARD records but does not strip).
fn chain_cost(
    uoa: &crate::uoa_datapath::UoaNet,
    mut bytes: KVec<u8>,
    ipv6: bool,
    vary: Option<usize>,
    chain: Chain,
) -> i64 {
    let transport = if ipv6 { 40 } else { 20 };
    let mut run = |hook: bool| {
        per_round(|i| {
            if let Some(middle) = vary {
                set_sport(&mut bytes, middle, 10000 + i);
            }
            if let Ok(mut skb) = TestSkb::new(&bytes, transport) {
                // In both runs, so that its cost cancels out.
                let guard = kernel::sync::rcu::read_lock();
                let call = HookCall {
                    chain,
                    rcu: RcuSection::of(&guard),
                };
                if hook && ipv6 {
                    uoa.ipv6(skb.skb(), call);
                } else if hook {
                    uoa.ipv4(skb.skb(), call);
                }
            }
        })
    };
    let base = run(false);
    run(true) - base
}

/// The cost of `f` on a fresh copy of `bytes` (an IPv4 packet) each
/// round, minus making and freeing the copies.
fn skb_cost(bytes: &[u8], mut f: impl FnMut(&mut crate::uoa_skb::Skb)) -> i64 {
    let mut run = |call: bool| {
        per_round(|_| {
            if let Ok(mut skb) = TestSkb::new(bytes, 20) {
                if call {
                    f(skb.skb());
                }
            }
        })
    };
    let base = run(false);
    run(true) - base
}

/// The `i`-th of the flows that fill a table: load balancer addresses and
/// ports spread as a real balancer's are.
fn flow(i: u32) -> FlowKey<[u8; 4]> {
    FlowKey {
        saddr: [10, 2, (i >> 24) as u8, (i >> 16) as u8],
        daddr: RS,
        sport: i as u16,
        dport: 5000,
    }
}

/// Lookup and insert costs and memory per mapping with `n` IPv4 mappings
/// in a table that grew to it from the module's default start.
fn at_size(n: u32) -> Result {
    let uoa: Arc<UoaNet> = net_with_bits(12)?;
    let now = jiffies();
    let later = now.wrapping_add(1 << 30);
    let real = RealAddr::V4 {
        addr: [192, 0, 2, 1],
        port: 1000,
    };
    for i in 0..n {
        uoa.v4.insert(flow(i), real, now, later)?;
    }
    // Tenths of a byte.
    let memory = uoa.v4.memory() * 10 / uoa.v4.len();
    // Hits spread over the whole table.
    let stride = n / u32::from(ROUNDS) + 1;
    let lookup = per_round(|i| {
        let k = flow((u32::from(i) * stride) % n);
        let query = LookupQuery::V4 {
            saddr: k.saddr,
            daddr: k.daddr,
            sport: k.sport,
            dport: k.dport,
        };
        let _ = uoa.lookup(&query);
    });
    // New flows, each through the packet path: parse, insert, strip.
    let insert = hook_cost(
        &uoa,
        ipv4(248, &[], &opp_v1([192, 0, 2, 1], 1000), 0),
        false,
        Some(12),
    );
    pr_info!(
        "bench: {:>9} mappings: lookup hit {:>5}, new flow (opp IPv4 packet) {:>5}, {}.{} bytes per mapping\n",
        n,
        lookup,
        insert,
        memory / 10,
        memory % 10
    );
    Ok(())
}

/// Runs every measurement and prints the figures.
pub(crate) fn run() -> Result {
    // The module's defaults: 4096 buckets per table.
    let uoa = net_with_bits(12)?;
    let plain = hook_cost(&uoa, ipv4(17, &[], &[], 4000), false, None);
    let opp_new = hook_cost(
        &uoa,
        ipv4(248, &[], &opp_v1([192, 0, 2, 1], 1000), 0),
        false,
        Some(12),
    );
    let opp_same = hook_cost(
        &uoa,
        ipv4(248, &[], &opp_v1([192, 0, 2, 1], 1000), 4001),
        false,
        None,
    );
    let opt = [IPOPT_UOA, 8, 0x03, 0xe8, 192, 0, 2, 3];
    let mut ipo = ipv4(17, &opt, &[], 0);
    // The options make the header 28 bytes: vary the port after them.
    ipo[28..30].copy_from_slice(&1u16.to_be_bytes());
    let ipo_same = hook_cost(&uoa, ipo, false, None);
    let opp6 = hook_cost(&uoa, ipv6_with_destopts(true), true, None);
    // Where an opp packet's instructions go: the header without a UOA
    // option (parse and strip only), one mapping refreshed in the table,
    // the trusted-list check.
    let opp_strip_only = hook_cost(&uoa, ipv4(248, &[], &[0x10, 17, 0, 4], 4002), false, None);
    let opp_parse_only = chain_cost(
        &uoa,
        ipv4(248, &[], &[0x10, 17, 0, 4], 4002),
        false,
        None,
        Chain::Forward,
    );
    let opp_bytes = ipv4(248, &[], &opp_v1([192, 0, 2, 1], 1000), 4001);
    let strip = skb_cost(&opp_bytes, |skb| {
        let _ = skb.remove_after_headers(20, 12, |_| {});
    });
    let now = jiffies();
    let key = flow(7);
    let real = RealAddr::V4 {
        addr: [192, 0, 2, 1],
        port: 1000,
    };
    uoa.v4.insert(key, real, now, now.wrapping_add(1 << 30))?;
    // As on the packet path: inside the hook's RCU read-side section.
    let guard = kernel::sync::rcu::read_lock();
    let rcu = RcuSection::of(&guard);
    let refresh = per_round(|_| {
        let _ = uoa
            .v4
            .insert_in(&rcu, key, real, now, now.wrapping_add(1 << 30));
    });
    let trusted = per_round(|_| {
        let _ = crate::uoa_trusted::allows(&LB, &rcu);
    });
    drop(guard);
    let lookup = per_round(|i| {
        let query = LookupQuery::V4 {
            saddr: LB,
            daddr: RS,
            sport: 10000 + i,
            dport: 5000,
        };
        let _ = uoa.lookup(&query);
    });
    let miss = per_round(|i| {
        let query = LookupQuery::V4 {
            saddr: RS,
            daddr: LB,
            sport: i,
            dport: 1,
        };
        let _ = uoa.lookup(&query);
    });
    pr_info!(
        "bench: instructions of the module's own code, {} rounds each, 4096 buckets\n",
        ROUNDS
    );
    pr_info!("bench: {:>6}  plain UDP (IPv4)\n", plain);
    pr_info!(
        "bench: {:>6}  opp IPv4, new flow: insert and strip\n",
        opp_new
    );
    pr_info!(
        "bench: {:>6}  opp IPv4, same flow: refresh and strip\n",
        opp_same
    );
    pr_info!("bench: {:>6}  IPv4 option, same flow: refresh\n", ipo_same);
    pr_info!(
        "bench: {:>6}  opp IPv4 without UOA option: parse and strip only\n",
        opp_strip_only
    );
    pr_info!(
        "bench: {:>6}  the same in FORWARD: parse only, no strip\n",
        opp_parse_only
    );
    pr_info!(
        "bench: {:>6}  opp header removal alone (12 bytes after 20)\n",
        strip
    );
    pr_info!(
        "bench: {:>6}  one mapping refreshed in the table (insert, same client)\n",
        refresh
    );
    pr_info!("bench: {:>6}  trusted-list check (open list)\n", trusted);
    pr_info!(
        "bench: {:>6}  opp IPv6 after destination options, same flow\n",
        opp6
    );
    pr_info!(
        "bench: {:>6}  lookup hit, {} IPv4 mappings\n",
        lookup,
        uoa.v4.len()
    );
    pr_info!("bench: {:>6}  lookup miss\n", miss);
    drop(uoa);
    pr_info!(
        "bench: at sizes, instructions (entries' slab objects and bucket array per mapping)\n"
    );
    for n in [1_000, 100_000, 1_000_000] {
        at_size(n)?;
    }
    Ok(())
}
