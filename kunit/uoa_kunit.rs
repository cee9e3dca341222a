// SPDX-License-Identifier: GPL-2.0

//! KUnit suites of the uoa module, compiled in only by `make KUNIT=1`
//! (`--cfg uoa_kunit`); they run in the kernel when the test build loads.

use kernel::prelude::*;

#[kunit_tests(uoa_params)]
mod params {
    use crate::{uoa_test_skb::DEFAULT_PARAMS, Config, ParamError, RawParams};

    /// The defaults with these four values.
    fn raw(debug: i32, map_timeout: i32, map_tab_bits: i32, hook_forward: i32) -> RawParams {
        RawParams {
            debug,
            map_timeout,
            map_tab_bits,
            hook_forward,
            ..DEFAULT_PARAMS
        }
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::new(raw(0, 360, 12, 0));
        assert_eq!(
            c,
            Ok(Config {
                debug: false,
                map_timeout_secs: 360,
                map_tab_bits: 12,
                hook_forward: false,
                map_max: 1 << 20,
                nat64: None,
            })
        );
    }

    #[test]
    fn nat64_prefix_is_checked_when_enabled() {
        let nat64 = |enable, prefix| {
            Config::new(RawParams {
                v6_to_v4_enable: enable,
                v6_to_v4_prefix: prefix,
                ..DEFAULT_PARAMS
            })
            .map(|c| c.nat64)
        };
        assert_eq!(
            nat64(1, "64:ff9b::"),
            Ok(Some([0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]))
        );
        assert_eq!(nat64(0, "not an address"), Ok(None));
        assert_eq!(nat64(1, "64:ff9b"), Err(ParamError::V6ToV4Prefix));
        assert_eq!(nat64(1, "192.0.2.1"), Err(ParamError::V6ToV4Prefix));
        assert_eq!(nat64(2, "64:ff9b::"), Err(ParamError::V6ToV4Enable(2)));
    }

    #[test]
    fn flags_take_zero_or_one() {
        assert_eq!(
            Config::new(raw(1, 360, 12, 1)).map(|c| (c.debug, c.hook_forward)),
            Ok((true, true))
        );
        assert_eq!(Config::new(raw(2, 360, 12, 0)), Err(ParamError::Debug(2)));
        assert_eq!(Config::new(raw(-1, 360, 12, 0)), Err(ParamError::Debug(-1)));
        assert_eq!(
            Config::new(raw(0, 360, 12, 7)),
            Err(ParamError::HookForward(7))
        );
    }

    #[test]
    fn ranges_are_enforced() {
        assert_eq!(
            Config::new(raw(0, 0, 12, 0)),
            Err(ParamError::MapTimeout(0))
        );
        assert_eq!(
            Config::new(raw(0, -5, 12, 0)),
            Err(ParamError::MapTimeout(-5))
        );
        assert_eq!(
            Config::new(raw(0, 86401, 12, 0)),
            Err(ParamError::MapTimeout(86401))
        );
        assert!(Config::new(raw(0, 86400, 12, 0)).is_ok());
        assert_eq!(
            Config::new(raw(0, 360, 3, 0)),
            Err(ParamError::MapTabBits(3))
        );
        assert_eq!(
            Config::new(raw(0, 360, 21, 0)),
            Err(ParamError::MapTabBits(21))
        );
        assert!(Config::new(raw(0, 360, 4, 0)).is_ok() && Config::new(raw(0, 360, 20, 0)).is_ok());
        let map_max = |map_max| {
            Config::new(RawParams {
                map_max,
                ..DEFAULT_PARAMS
            })
        };
        assert_eq!(map_max(0), Err(ParamError::MapMax(0)));
        assert_eq!(map_max(-1), Err(ParamError::MapMax(-1)));
        assert_eq!(
            map_max((1 << 26) + 1),
            Err(ParamError::MapMax((1 << 26) + 1))
        );
        assert_eq!(map_max(1).map(|c| c.map_max), Ok(1));
        assert_eq!(map_max(1 << 26).map(|c| c.map_max), Ok(1 << 26));
    }
}

#[kunit_tests(uoa_parse)]
mod parse {
    use crate::uoa_parse::*;

    #[test]
    fn ipv4_client_option() {
        let area = [1, IPOPT_UOA, 8, 0x13, 0x88, 10, 1, 2, 3, 0, 0, 0];
        assert_eq!(
            find_uoa(&area),
            Ok(Some(Uoa::plain(
                RealAddr::V4 {
                    addr: [10, 1, 2, 3],
                    port: 5000
                },
                UoaFormat::Ipv4Option
            )))
        );
    }

    #[test]
    fn bytedance_option_behind_another_option() {
        // A NOP, then ByteDance's type 30 with inner IPv4: client 10.1.2.3
        // port 5000, original destination 10.9.9.9 port 53.
        let area = [
            1, 30, 16, 0, 0, 0x13, 0x88, 0, 53, 10, 1, 2, 3, 10, 9, 9, 9, 0, 0, 0,
        ];
        assert_eq!(
            find_uoa(&area),
            Ok(Some(Uoa {
                real: RealAddr::V4 {
                    addr: [10, 1, 2, 3],
                    port: 5000
                },
                extra: UoaExtra::Destination(RealAddr::V4 {
                    addr: [10, 9, 9, 9],
                    port: 53
                }),
                format: UoaFormat::BytedanceOption,
            }))
        );
        // Its operation byte says IPv6: malformed.
        let mut bad = area;
        bad[3] = 1;
        assert_eq!(find_uoa(&bad), Err(ParseError::BadUoaOperation(1)));
    }

    #[test]
    fn vendor_destination_options() {
        // Huawei: 11 01 1f 06 PP PP A A A A 01 04 00 00 00 00.
        let hw = [17, 1, 0x1f, 6, 0, 80, 10, 1, 2, 3, 1, 4, 0, 0, 0, 0];
        assert_eq!(
            find_dstopt_uoa(&hw),
            Ok(Some(Uoa::plain(
                RealAddr::V4 {
                    addr: [10, 1, 2, 3],
                    port: 80
                },
                UoaFormat::HuaweiDstopt
            )))
        );
        // ByteDance type 29, inner IPv4: VNI 7, port 80, 10.1.2.3.
        let bd = [17, 1, 29, 12, 0, 0, 0, 7, 0, 80, 0, 0, 10, 1, 2, 3];
        assert_eq!(
            find_dstopt_uoa(&bd).map(|u| u.map(|u| u.extra)),
            Ok(Some(UoaExtra::Vni(7)))
        );
        // Huawei's option one byte too long: malformed.
        let bad = [17, 1, 0x1f, 7, 0, 80, 10, 1, 2, 3, 1, 1, 3, 0, 0, 0];
        assert_eq!(find_dstopt_uoa(&bad), Err(ParseError::BadUoaLength(7)));
    }

    #[test]
    fn invalid_lengths_are_malformed() {
        for len in [0u8, 1, 3, 12, 40] {
            let mut area = [0u8; 40];
            area[0] = IPOPT_UOA;
            area[1] = len;
            assert!(find_uoa(&area).is_err());
        }
    }

    #[test]
    fn end_stops_the_walk() {
        let area = [0, IPOPT_UOA, 8, 0, 1, 1, 2, 3, 4];
        assert_eq!(find_uoa(&area), Ok(None));
    }

    #[test]
    fn opp_header_rules() {
        let good = [0x10, IPPROTO_UDP, 0, 12, IPOPT_UOA, 8, 0, 53, 192, 0, 2, 7];
        assert!(matches!(
            parse_opp(&good),
            Ok((
                OppHeader {
                    version: 1,
                    len: 12
                },
                Some(_)
            ))
        ));
        let mut bad = good;
        bad[3] = 5;
        assert_eq!(parse_opp(&bad), Err(ParseError::BadOppLength(5)));
        bad = good;
        bad[0] = 0x11;
        assert_eq!(parse_opp(&bad), Err(ParseError::OppReservedBits));
        // Another version: ByteDance's variant, which takes this shape only.
        bad = good;
        bad[0] = 0x00;
        assert!(matches!(
            parse_opp(&bad),
            Ok((
                _,
                Some(Uoa {
                    format: UoaFormat::BytedanceOpp,
                    ..
                })
            ))
        ));
        bad[5] = 6;
        assert_eq!(parse_opp(&bad), Err(ParseError::BadBytedanceOpp));
    }
}

#[kunit_tests(uoa_table)]
mod table {
    use crate::{
        uoa_parse::RealAddr,
        uoa_rcu::RcuSection,
        uoa_table::{entry_slab_size, Budget, FlowKey, Stored, Table, Walk, FAIL_NEXT_ALLOC},
    };
    use kernel::{
        prelude::*,
        sync::{atomic::Relaxed, Arc},
    };

    /// Room for as many mappings as a test makes.
    fn unlimited() -> Result<Arc<Budget>> {
        Budget::new(usize::MAX)
    }

    fn key(sport: u16, daddr: [u8; 4]) -> FlowKey<[u8; 4]> {
        FlowKey {
            saddr: [10, 0, 1, 1],
            daddr,
            sport,
            dport: 5000,
        }
    }

    const RS: [u8; 4] = [10, 0, 1, 2];
    const CLIENT: RealAddr = RealAddr::V4 {
        addr: [192, 0, 2, 1],
        port: 1111,
    };

    #[test]
    fn insert_then_lookup() -> Result {
        let t = KBox::pin_init(Table::<[u8; 4]>::new(4, unlimited()?), GFP_KERNEL)?;
        assert_eq!(t.insert(key(4000, RS), CLIENT, 100, 200)?, Stored::New);
        assert_eq!(t.lookup(&key(4000, RS), 150, 250), Some(CLIENT));
        assert_eq!(t.lookup(&key(4001, RS), 150, 250), None);
        assert_eq!(t.lookup(&key(4000, [10, 0, 1, 3]), 150, 250), None);
        assert_eq!(t.len(), 1);
        Ok(())
    }

    #[test]
    fn replace_without_memory_removes_the_old_client() -> Result {
        let budget = unlimited()?;
        let t = KBox::pin_init(Table::<[u8; 4]>::new(4, budget.clone()), GFP_KERNEL)?;
        let newer = RealAddr::V4 {
            addr: [192, 0, 2, 2],
            port: 2222,
        };
        t.insert(key(4000, RS), CLIENT, 100, 200)?;
        FAIL_NEXT_ALLOC.store(1, Relaxed);
        assert_eq!(t.insert(key(4000, RS), newer, 110, 210), Err(ESTALE));
        // No answer rather than the client the flow no longer has.
        assert_eq!(t.lookup(&key(4000, RS), 120, 220), None);
        assert_eq!((t.len(), budget.used()), (0, 0));
        // The next UOA of the flow stores the new client.
        assert_eq!(t.insert(key(4000, RS), newer, 130, 230)?, Stored::New);
        assert_eq!(t.lookup(&key(4000, RS), 140, 240), Some(newer));
        // Without memory for a new flow, nothing else changes.
        FAIL_NEXT_ALLOC.store(1, Relaxed);
        assert_eq!(t.insert(key(4001, RS), CLIENT, 150, 250), Err(ENOMEM));
        assert_eq!((t.len(), budget.used()), (1, 1));
        Ok(())
    }

    #[test]
    fn overwrite_replaces() -> Result {
        let t = KBox::pin_init(Table::<[u8; 4]>::new(4, unlimited()?), GFP_KERNEL)?;
        let newer = RealAddr::V6 {
            addr: [0x20; 16],
            port: 2222,
        };
        t.insert(key(4000, RS), CLIENT, 100, 200)?;
        assert_eq!(t.insert(key(4000, RS), newer, 110, 210)?, Stored::Replaced);
        assert_eq!(t.lookup(&key(4000, RS), 120, 220), Some(newer));
        assert_eq!(t.len(), 1);
        Ok(())
    }

    #[test]
    fn same_mapping_only_refreshes() -> Result {
        let t = KBox::pin_init(Table::<[u8; 4]>::new(4, unlimited()?), GFP_KERNEL)?;
        t.insert(key(4000, RS), CLIENT, 100, 200)?;
        assert_eq!(
            t.insert(key(4000, RS), CLIENT, 150, 400)?,
            Stored::Refreshed
        );
        assert_eq!(t.lookup(&key(4000, RS), 300, 300), Some(CLIENT));
        assert_eq!(t.len(), 1);
        Ok(())
    }

    #[test]
    fn many_flows_one_address() -> Result {
        // Every flow findable; the keyed hash spreads them over buckets.
        let t = KBox::pin_init(Table::<[u8; 16]>::new(6, unlimited()?), GFP_KERNEL)?;
        for port in 0..500u16 {
            let k = FlowKey {
                saddr: [0xfd; 16],
                daddr: [0xfe; 16],
                sport: port,
                dport: 53,
            };
            t.insert(k, CLIENT, 100, 200)?;
        }
        for port in 0..500u16 {
            let k = FlowKey {
                saddr: [0xfd; 16],
                daddr: [0; 16],
                sport: port,
                dport: 53,
            };
            assert_eq!(t.lookup(&k, 150, 250), Some(CLIENT));
        }
        assert_eq!(t.len(), 500);
        Ok(())
    }

    #[test]
    fn wildcard_daddr() -> Result {
        let t = KBox::pin_init(Table::<[u8; 4]>::new(4, unlimited()?), GFP_KERNEL)?;
        t.insert(key(4000, RS), CLIENT, 100, 200)?;
        assert_eq!(t.lookup(&key(4000, [0; 4]), 150, 250), Some(CLIENT));
        assert_eq!(t.lookup(&key(4001, [0; 4]), 150, 250), None);
        Ok(())
    }

    #[test]
    fn expiry_and_refresh() -> Result {
        let t = KBox::pin_init(Table::<[u8; 4]>::new(4, unlimited()?), GFP_KERNEL)?;
        t.insert(key(4000, RS), CLIENT, 100, 200)?;
        assert_eq!(t.lookup(&key(4000, RS), 200, 999), None); // expired at its time
        let t = KBox::pin_init(Table::<[u8; 4]>::new(4, unlimited()?), GFP_KERNEL)?;
        t.insert(key(4000, RS), CLIENT, 100, 200)?;
        // A lookup moves the expiry: alive past the first deadline.
        assert_eq!(t.lookup(&key(4000, RS), 199, 300), Some(CLIENT));
        assert_eq!(t.lookup(&key(4000, RS), 299, 400), Some(CLIENT));
        assert_eq!(t.lookup(&key(4000, RS), 400, 500), None);
        // Jiffies wrap around.
        let t = KBox::pin_init(Table::<[u8; 4]>::new(4, unlimited()?), GFP_KERNEL)?;
        t.insert(key(4000, RS), CLIENT, usize::MAX - 5, 10)?;
        assert_eq!(t.lookup(&key(4000, RS), usize::MAX, 10), Some(CLIENT));
        Ok(())
    }

    #[test]
    fn sweep_removes_only_expired() -> Result {
        let t = KBox::pin_init(Table::<[u8; 4]>::new(4, unlimited()?), GFP_KERNEL)?;
        for port in 0..50u16 {
            let expires = if port % 2 == 0 { 200 } else { 400 };
            t.insert(key(port, RS), CLIENT, 100, expires)?;
        }
        assert_eq!(t.len(), 50);
        assert_eq!(t.sweep(300), 25);
        assert_eq!(t.len(), 25);
        assert_eq!(t.lookup(&key(1, RS), 300, 400), Some(CLIENT));
        assert_eq!(t.lookup(&key(2, RS), 300, 400), None);
        Ok(())
    }

    #[test]
    fn paused_walk_sees_every_mapping_once() -> Result {
        // The mapping view's walk, paused (RCU section left) every 7
        // mappings and resumed: each of 500 mappings seen exactly once.
        // (1,024 buckets: no resize, which would restart the walk.)
        const N: u16 = 500;
        let t = KBox::pin_init(Table::<[u8; 4]>::new(10, unlimited()?), GFP_KERNEL)?;
        for port in 0..N {
            t.insert(key(port, RS), CLIENT, 100, 200 + usize::from(port))?;
        }
        let mut seen = KVec::from_elem(0u8, usize::from(N), GFP_KERNEL)?;
        let mut walk = KBox::new(Walk::<[u8; 4], RealAddr>::idle(), GFP_KERNEL)?;
        // SAFETY: the walk is boxed (it does not move) and exits when
        // dropped, before `t`, declared first.
        unsafe { walk.enter(&t) };
        let mut total = 0;
        loop {
            // Copies into a fixed array: nothing may sleep (allocate)
            // while the walk holds the RCU read lock.
            let mut batch = [None; 7];
            let mut n = 0;
            walk.start();
            while n < batch.len() {
                let Some(m) = walk.next() else { break };
                batch[n] = Some(m);
                n += 1;
            }
            walk.stop();
            for m in batch.iter().flatten() {
                assert_eq!(m.value, CLIENT);
                assert_eq!(m.expires, 200 + usize::from(m.key.sport));
                seen[usize::from(m.key.sport)] += 1;
                total += 1;
            }
            if n < batch.len() {
                break;
            }
        }
        assert_eq!(total, usize::from(N));
        assert!(seen.iter().all(|&n| n == 1));
        // A table's value, read without moving its expiry.
        let guard = kernel::sync::rcu::read_lock();
        let rcu = RcuSection::of(&guard);
        assert_eq!(t.peek_in(&rcu, &key(3, RS)), Some((CLIENT, 203)));
        assert_eq!(t.peek_in(&rcu, &key(N, RS)), None);
        Ok(())
    }

    #[test]
    fn expired_mapping_is_replaced_not_refreshed() -> Result {
        let t = KBox::pin_init(Table::<[u8; 4]>::new(0, unlimited()?), GFP_KERNEL)?;
        t.insert(key(1, RS), CLIENT, 100, 150)?;
        // The same client after expiry: a fresh entry, still one mapping.
        assert_eq!(t.insert(key(1, RS), CLIENT, 200, 500)?, Stored::Replaced);
        assert_eq!(t.len(), 1);
        assert_eq!(t.lookup(&key(1, RS), 300, 600), Some(CLIENT));
        Ok(())
    }

    #[test]
    fn grows_from_the_smallest_start() -> Result {
        // From the default start (64 buckets) to 100,000 mappings: every
        // one stays reachable while the table resizes under the inserts.
        const N: u32 = 100_000;
        let t = KBox::pin_init(Table::<[u8; 4]>::new(0, unlimited()?), GFP_KERNEL)?;
        let flow = |i: u32| FlowKey {
            saddr: [10, 1, (i >> 16) as u8, (i >> 8) as u8],
            daddr: RS,
            sport: i as u16,
            dport: 5000,
        };
        for i in 0..N {
            assert_eq!(t.insert(flow(i), CLIENT, 100, 1000)?, Stored::New);
        }
        assert_eq!(t.len(), N as usize);
        for i in (0..N).step_by(7) {
            assert_eq!(t.lookup(&flow(i), 100, 1000), Some(CLIENT));
        }
        // All expire; sweeps empty the table, and it shrinks. A sweep that
        // let other tasks run in the middle of a bucket may leave a few
        // for the next one.
        let mut removed = 0;
        for _ in 0..8 {
            removed += t.sweep(1000);
            if t.len() == 0 {
                break;
            }
        }
        assert_eq!(removed, N as usize);
        assert_eq!(t.len(), 0);
        assert_eq!(t.lookup(&flow(5), 1000, 2000), None);
        Ok(())
    }

    #[test]
    fn buckets_stop_at_the_cap() -> Result {
        // Past three quarters of 64 buckets the table would double; with
        // room for 64 mappings it stays at 64 buckets (the cap rounded up
        // to a power of two), and every mapping stays reachable.
        let t = KBox::pin_init(Table::<[u8; 4]>::new(0, Budget::new(64)?), GFP_KERNEL)?;
        for port in 0..64 {
            assert_eq!(t.insert(key(port, RS), CLIENT, 100, 1000)?, Stored::New);
        }
        // Resizes run in a worker: give one time to happen.
        kernel::time::delay::fsleep(kernel::time::Delta::from_millis(500));
        assert_eq!(t.buckets(), 64);
        for port in 0..64 {
            assert_eq!(t.lookup(&key(port, RS), 100, 1000), Some(CLIENT));
        }
        Ok(())
    }

    #[test]
    fn wildcard_finds_among_many_daddrs() -> Result {
        let t = KBox::pin_init(Table::<[u8; 4]>::new(4, unlimited()?), GFP_KERNEL)?;
        let real = |d: u8| RealAddr::V4 {
            addr: [192, 0, 2, d],
            port: u16::from(d),
        };
        // Up to 16 flows may differ only in daddr (one chain)...
        for d in 1..=16u8 {
            t.insert(key(4000, [10, 0, 1, d]), real(d), 100, 200)?;
        }
        // ...more may be refused, and cleanly.
        for d in 17..=50u8 {
            let _ = t.insert(key(4000, [10, 0, 1, d]), real(d), 100, 200);
        }
        assert!(t.len() >= 16);
        for d in 1..=16u8 {
            assert_eq!(t.lookup(&key(4000, [10, 0, 1, d]), 100, 200), Some(real(d)));
        }
        let exact = t.lookup(&key(4000, [10, 0, 1, 33]), 100, 200);
        assert_eq!(
            exact,
            Some(RealAddr::V4 {
                addr: [192, 0, 2, 33],
                port: 33
            })
        );
        assert!(t.lookup(&key(4000, [0; 4]), 100, 200).is_some());
        assert_eq!(t.lookup(&key(4000, [10, 0, 1, 51]), 100, 200), None);
        assert_eq!(t.lookup(&key(4001, [0; 4]), 100, 200), None);
        Ok(())
    }

    #[test]
    fn budget_caps_new_flows_only() -> Result {
        let budget = Budget::new(3)?;
        let t = KBox::pin_init(Table::<[u8; 4]>::new(4, budget.clone()), GFP_KERNEL)?;
        for port in 1..=3 {
            assert_eq!(t.insert(key(port, RS), CLIENT, 100, 200)?, Stored::New);
        }
        assert_eq!(t.insert(key(4, RS), CLIENT, 100, 200), Err(ENOSPC));
        assert_eq!((t.len(), budget.used()), (3, 3));
        assert_eq!(t.lookup(&key(4, RS), 100, 200), None);
        // Flows already stored still refresh and take a new client.
        assert_eq!(t.insert(key(1, RS), CLIENT, 110, 210)?, Stored::Refreshed);
        let newer = RealAddr::V4 {
            addr: [192, 0, 2, 99],
            port: 7,
        };
        assert_eq!(t.insert(key(2, RS), newer, 110, 210)?, Stored::Replaced);
        assert_eq!(t.lookup(&key(2, RS), 110, 210), Some(newer));
        // Expired mappings give their room back.
        assert_eq!(t.sweep(205), 1);
        assert_eq!(budget.used(), 2);
        assert_eq!(t.insert(key(4, RS), CLIENT, 205, 300)?, Stored::New);
        assert_eq!(t.insert(key(5, RS), CLIENT, 205, 300), Err(ENOSPC));
        Ok(())
    }

    #[test]
    fn budget_is_shared_by_the_families() -> Result {
        let budget = Budget::new(2)?;
        let v4 = KBox::pin_init(Table::<[u8; 4]>::new(4, budget.clone()), GFP_KERNEL)?;
        let v6 = KBox::pin_init(Table::<[u8; 16]>::new(4, budget.clone()), GFP_KERNEL)?;
        v4.insert(key(1, RS), CLIENT, 100, 200)?;
        let k6 = |sport| FlowKey {
            saddr: [0xfd; 16],
            daddr: [0xfe; 16],
            sport,
            dport: 5000,
        };
        v6.insert(k6(1), CLIENT, 100, 200)?;
        assert_eq!(v6.insert(k6(2), CLIENT, 100, 200), Err(ENOSPC));
        assert_eq!(v4.insert(key(2, RS), CLIENT, 100, 200), Err(ENOSPC));
        drop(v4);
        assert_eq!(budget.used(), 1);
        assert_eq!(v6.insert(k6(2), CLIENT, 100, 200)?, Stored::New);
        Ok(())
    }

    #[test]
    fn tables_are_separate() -> Result {
        // One table per namespace: what one holds the other does not.
        let a = KBox::pin_init(Table::<[u8; 4]>::new(4, unlimited()?), GFP_KERNEL)?;
        let b = KBox::pin_init(Table::<[u8; 4]>::new(4, unlimited()?), GFP_KERNEL)?;
        a.insert(key(4000, RS), CLIENT, 100, 200)?;
        assert_eq!(b.lookup(&key(4000, RS), 150, 250), None);
        assert_eq!(a.lookup(&key(4000, RS), 150, 250), Some(CLIENT));
        Ok(())
    }

    #[test]
    fn ipv6_flows() -> Result {
        let t = KBox::pin_init(Table::<[u8; 16]>::new(4, unlimited()?), GFP_KERNEL)?;
        let k = FlowKey {
            saddr: [0xfd; 16],
            daddr: [0xfe; 16],
            sport: 1,
            dport: 2,
        };
        t.insert(k, CLIENT, 100, 200)?;
        assert_eq!(
            t.lookup(
                &FlowKey {
                    daddr: [0; 16],
                    ..k
                },
                150,
                250
            ),
            Some(CLIENT)
        );
        Ok(())
    }

    #[test]
    fn ipv4_mapping_fits_64_bytes() {
        assert!(entry_slab_size::<[u8; 4], RealAddr>() <= 64);
        assert!(entry_slab_size::<[u8; 16], RealAddr>() <= 96);
    }
}

#[kunit_tests(uoa_datapath)]
mod datapath {
    use crate::{
        uoa_bindings as b,
        uoa_datapath::UoaNet,
        uoa_netfilter::{Chain, Verdict},
        uoa_parse::{ipv4_header_checksum, LookupQuery, RealAddr, IPOPT_UOA},
        uoa_stats::Stat,
        uoa_table::{jiffies, FlowKey, FAIL_NEXT_ALLOC},
        uoa_test_skb::*,
        Config, RawParams,
    };
    use kernel::{
        bindings,
        prelude::*,
        sync::{atomic::Relaxed, Arc},
    };

    fn lookup4(uoa: &UoaNet, sport: u16) -> Option<RealAddr> {
        let now = jiffies();
        uoa.v4.lookup(
            &FlowKey {
                saddr: LB,
                daddr: RS,
                sport,
                dport: 5000,
            },
            now,
            now + 100,
        )
    }

    #[test]
    fn opp_ipv4_becomes_plain_udp() -> Result {
        let uoa = net()?;
        let mut pkt = TestSkb::new(&ipv4(248, &[], &opp_v1([192, 0, 2, 9], 999), 4001), 20)?;
        pkt.set_csum_complete();
        pkt.through(&uoa, Chain::LocalIn);
        // Exactly what the balancer's client would have sent as plain UDP.
        let want = ipv4(17, &[], &[], 4001);
        assert_eq!(&pkt.bytes()[..], &want[..]);
        assert_eq!(pkt.ip_summed(), b::CHECKSUM_COMPLETE);
        assert!(pkt.csum_matches()); // CHECKSUM_COMPLETE adjusted
        assert_eq!(pkt.offsets(), 20); // network at 0, transport at 20
        assert_eq!(
            lookup4(&uoa, 4001),
            Some(RealAddr::V4 {
                addr: [192, 0, 2, 9],
                port: 999
            })
        );
        assert_eq!(
            (uoa.stats.read(Stat::UoaGot), uoa.stats.read(Stat::UoaSaved)),
            (1, 1)
        );
        Ok(())
    }

    #[test]
    fn forward_chain_records_but_keeps_opp() -> Result {
        let uoa = net()?;
        let bytes = ipv4(248, &[], &opp_v1([192, 0, 2, 9], 999), 4001);
        let mut pkt = TestSkb::new(&bytes, 20)?;
        pkt.through(&uoa, Chain::Forward);
        assert_eq!(&pkt.bytes()[..], &bytes[..]);
        assert!(lookup4(&uoa, 4001).is_some());
        Ok(())
    }

    #[test]
    fn clone_is_unshared_before_rewrite() -> Result {
        let uoa = net()?;
        let bytes = ipv4(248, &[], &opp_v1([192, 0, 2, 9], 999), 4002);
        let original = TestSkb::new(&bytes, 20)?;
        // SAFETY: valid skb; the clone shares its data.
        let clone = unsafe { bindings::skb_clone(original.0, bindings::GFP_KERNEL) };
        if clone.is_null() {
            return Err(ENOMEM);
        }
        let mut clone = TestSkb(clone);
        clone.through(&uoa, Chain::LocalIn);
        assert_eq!(&clone.bytes()[..], &ipv4(17, &[], &[], 4002)[..]);
        assert_eq!(&original.bytes()[..], &bytes[..]); // the original's data is untouched
        Ok(())
    }

    #[test]
    fn ipo_is_recorded_and_left_in_place() -> Result {
        let uoa = net()?;
        let opt = [IPOPT_UOA, 8, 0x13, 0x88, 198, 51, 100, 7];
        let bytes = ipv4(17, &opt, &[], 4003);
        let mut pkt = TestSkb::new(&bytes, 28)?;
        pkt.through(&uoa, Chain::LocalIn);
        assert_eq!(&pkt.bytes()[..], &bytes[..]);
        assert_eq!(
            lookup4(&uoa, 4003),
            Some(RealAddr::V4 {
                addr: [198, 51, 100, 7],
                port: 5000
            })
        );
        Ok(())
    }

    #[test]
    fn malformed_is_counted_and_left_alone() -> Result {
        let uoa = net()?;
        for (i, opp) in [
            [0x10, 17, 0, 5, IPOPT_UOA, 8, 0, 1, 1, 2, 3, 4], // length 5
            [0x10, 17, 0, 0, IPOPT_UOA, 8, 0, 1, 1, 2, 3, 4], // length 0
            [0x30, 17, 0, 12, IPOPT_UOA, 20, 0, 1, 1, 2, 3, 4], // version 3 (ByteDance's), option past it
            [0x10, 17, 0, 12, IPOPT_UOA, 12, 0, 1, 1, 2, 3, 4], // option length 12
            [0x10, 6, 0, 12, IPOPT_UOA, 8, 0, 1, 1, 2, 3, 4],   // next protocol TCP
            [0x10, 17, 1, 0, IPOPT_UOA, 8, 0, 1, 1, 2, 3, 4],   // length past the packet
        ]
        .iter()
        .enumerate()
        {
            let bytes = ipv4(248, &[], opp, 4100 + i as u16);
            // FORWARD: counted, and passed on unchanged to the namespace
            // that receives it.
            let mut pkt = TestSkb::new(&bytes, 20)?;
            assert_eq!(pkt.through(&uoa, Chain::Forward), Verdict::Accept);
            assert_eq!(&pkt.bytes()[..], &bytes[..]);
            // LOCAL_IN: counted and dropped (no ICMP to its source).
            let mut pkt = TestSkb::new(&bytes, 20)?;
            assert_eq!(pkt.through(&uoa, Chain::LocalIn), Verdict::Drop);
            assert_eq!(&pkt.bytes()[..], &bytes[..]);
            assert_eq!(uoa.stats.read(Stat::UoaMalformed), 2 * i as u64 + 2);
            assert_eq!(uoa.stats.read(Stat::OppDropped), i as u64 + 1);
        }
        assert_eq!(uoa.v4.len(), 0);
        assert_eq!(uoa.stats.read(Stat::UoaSaved), 0);
        // A malformed IPv4 option is counted, and the packet delivered.
        let bad_option = ipv4(17, &[IPOPT_UOA, 12, 0, 1, 1, 2, 3, 4], &[], 4200);
        let mut pkt = TestSkb::new(&bad_option, 28)?;
        assert_eq!(pkt.through(&uoa, Chain::LocalIn), Verdict::Accept);
        assert_eq!(uoa.stats.read(Stat::OppDropped), 6);
        Ok(())
    }

    #[test]
    fn lookups_with_a_wildcard_or_mapped_address() -> Result {
        let uoa = net()?;
        let now = jiffies();
        let v6 = |last: u8| {
            let mut a = [0u8; 16];
            a[0] = 0x20;
            a[1] = 0x01;
            a[15] = last;
            a
        };
        let client = RealAddr::V6 {
            addr: v6(99),
            port: 443,
        };
        let flow = FlowKey {
            saddr: v6(1),
            daddr: v6(2),
            sport: 4000,
            dport: 53,
        };
        uoa.v6.insert(flow, client, now, now + 100)?;
        let q6 = |daddr: [u8; 16]| LookupQuery::V6 {
            saddr: v6(1),
            daddr,
            sport: 4000,
            dport: 53,
        };
        // IPv6, exact and wildcard (all-zero) local address; another local
        // address is another flow.
        assert_eq!(uoa.lookup(&q6(v6(2))), Some(client));
        assert_eq!(uoa.lookup(&q6([0; 16])), Some(client));
        assert_eq!(uoa.lookup(&q6(v6(3))), None);
        // A dual-stack socket asks for IPv4 flows as ::ffff:a.b.c.d, with
        // the local address mapped too, or the wildcard.
        uoa.v4.insert(
            FlowKey {
                saddr: LB,
                daddr: RS,
                sport: 4001,
                dport: 53,
            },
            client,
            now,
            now + 100,
        )?;
        let mapped = |a: [u8; 4]| {
            let mut m = [0u8; 16];
            m[10] = 0xff;
            m[11] = 0xff;
            m[12..].copy_from_slice(&a);
            m
        };
        let q4 = |daddr: [u8; 16]| LookupQuery::V6 {
            saddr: mapped(LB),
            daddr,
            sport: 4001,
            dport: 53,
        };
        assert_eq!(uoa.lookup(&q4(mapped(RS))), Some(client));
        assert_eq!(uoa.lookup(&q4([0; 16])), Some(client));
        // A mapped peer with a plain IPv6 local address: no such flow.
        assert_eq!(uoa.lookup(&q4(v6(2))), None);
        Ok(())
    }

    #[test]
    fn gso_packets_are_not_inspected() -> Result {
        let uoa = net()?;
        // opp: counted, nothing stored; dropped in LOCAL_IN, passed on in
        // FORWARD.
        let bytes = ipv4(248, &[], &opp_v1([192, 0, 2, 9], 999), 4500);
        for (chain, verdict) in [
            (Chain::LocalIn, Verdict::Drop),
            (Chain::Forward, Verdict::Accept),
        ] {
            let mut pkt = TestSkb::new(&bytes, 20)?;
            pkt.set_gso(100);
            assert_eq!(pkt.through(&uoa, chain), verdict);
            assert_eq!(&pkt.bytes()[..], &bytes[..]);
        }
        // A UOA option: counted, nothing stored, delivered.
        let ipo = ipv4(17, &[IPOPT_UOA, 8, 0, 77, 198, 51, 100, 77], &[], 4501);
        let mut pkt = TestSkb::new(&ipo, 28)?;
        pkt.set_gso(100);
        assert_eq!(pkt.through(&uoa, Chain::LocalIn), Verdict::Accept);
        assert_eq!(uoa.stats.read(Stat::Gso), 3);
        assert_eq!(uoa.v4.len(), 0);
        // Plain UDP GSO packets (UDP GRO) take the fast path, untouched.
        let mut pkt = TestSkb::new(&ipv4(17, &[], &[], 4502), 20)?;
        pkt.set_gso(100);
        assert_eq!(pkt.through(&uoa, Chain::LocalIn), Verdict::Accept);
        assert_eq!(uoa.stats.read(Stat::UoaNone), 1);
        Ok(())
    }

    #[test]
    fn sweeper_sleeps_while_there_is_no_mapping() -> Result {
        // Mappings live 1 s, and the sweeper runs every second while awake.
        let config = Config::new(RawParams {
            map_timeout: 1,
            ..DEFAULT_PARAMS
        })
        .map_err(|_| EINVAL)?;
        let uoa = Arc::pin_init(UoaNet::new(config, 4)?, GFP_KERNEL)?;
        // A new namespace runs nothing; packets without a UOA change that
        // not.
        assert!(uoa.sweeper.is_idle());
        TestSkb::new(&ipv4(17, &[], &[], 4400), 20)?.through(&uoa, Chain::LocalIn);
        assert!(uoa.sweeper.is_idle());
        // The first mapping wakes it.
        let opp = |port| ipv4(248, &[], &opp_v1([192, 0, 2, 9], 999), port);
        TestSkb::new(&opp(4400), 20)?.through(&uoa, Chain::LocalIn);
        assert!(!uoa.sweeper.is_idle());
        // Once it has swept the expired mapping, it sleeps again.
        for _ in 0..50 {
            if uoa.sweeper.is_idle() {
                break;
            }
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(100));
        }
        assert!(uoa.sweeper.is_idle());
        assert_eq!(uoa.v4.len(), 0);
        // And the next mapping wakes it again.
        TestSkb::new(&opp(4401), 20)?.through(&uoa, Chain::LocalIn);
        assert!(!uoa.sweeper.is_idle());
        Ok(())
    }

    #[test]
    fn new_client_without_memory_removes_the_old_one() -> Result {
        let uoa = net()?;
        let mut first = TestSkb::new(&ipv4(248, &[], &opp_v1([192, 0, 2, 9], 999), 4300), 20)?;
        first.through(&uoa, Chain::LocalIn);
        assert!(lookup4(&uoa, 4300).is_some());
        FAIL_NEXT_ALLOC.store(1, Relaxed);
        let mut second = TestSkb::new(&ipv4(248, &[], &opp_v1([192, 0, 2, 10], 999), 4300), 20)?;
        // Still delivered as plain UDP; the flow's mapping is gone.
        assert_eq!(second.through(&uoa, Chain::LocalIn), Verdict::Accept);
        assert_eq!(&second.bytes()[..], &ipv4(17, &[], &[], 4300)[..]);
        assert_eq!(lookup4(&uoa, 4300), None);
        assert_eq!(
            (
                uoa.stats.read(Stat::StaleRemoved),
                uoa.stats.read(Stat::InsertFailed)
            ),
            (1, 1)
        );
        Ok(())
    }

    #[test]
    fn truncated_packets_are_malformed() -> Result {
        let uoa = net()?;
        let bytes = ipv4(248, &[], &opp_v1([1, 2, 3, 4], 1), 4200);
        for cut in [21, 24, 30, 33] {
            let mut pkt = TestSkb::new(&bytes[..cut], 20)?;
            pkt.through(&uoa, Chain::LocalIn);
            assert_eq!(&pkt.bytes()[..], &bytes[..cut]);
        }
        assert_eq!(uoa.stats.read(Stat::UoaMalformed), 4);
        assert_eq!(uoa.v4.len(), 0);
        Ok(())
    }

    #[test]
    fn nonlinear_packets_are_parsed_and_stripped() -> Result {
        let uoa = net()?;
        // Only the IP header is linear (what the stack guarantees at the
        // hooks): the opp header and UDP are in a page fragment, as after
        // GRO or on many NICs.
        let mut pkt =
            TestSkb::nonlinear(&ipv4(248, &[], &opp_v1([192, 0, 2, 5], 555), 4500), 20, 20)?;
        assert_eq!(pkt.headlen(), 20);
        pkt.set_csum_complete();
        pkt.through(&uoa, Chain::LocalIn);
        assert_eq!(&pkt.bytes()[..], &ipv4(17, &[], &[], 4500)[..]);
        assert!(pkt.csum_matches());
        assert_eq!(
            lookup4(&uoa, 4500),
            Some(RealAddr::V4 {
                addr: [192, 0, 2, 5],
                port: 555
            })
        );
        // A UOA option read across the linear boundary, left in place.
        let opt = [IPOPT_UOA, 8, 0, 77, 198, 51, 100, 77];
        let bytes = ipv4(17, &opt, &[], 4501);
        let mut pkt = TestSkb::nonlinear(&bytes, 24, 28)?;
        pkt.through(&uoa, Chain::LocalIn);
        assert_eq!(&pkt.bytes()[..], &bytes[..]);
        assert_eq!(
            lookup4(&uoa, 4501),
            Some(RealAddr::V4 {
                addr: [198, 51, 100, 77],
                port: 77
            })
        );
        Ok(())
    }

    #[test]
    fn fragments_are_counted_and_left_alone() -> Result {
        let uoa = net()?;
        // IPv4 opp with "more fragments" set.
        let mut bytes = ipv4(248, &[], &opp_v1([192, 0, 2, 9], 999), 4600);
        bytes[6] = 0x20;
        let c = ipv4_header_checksum(&bytes[..20]).to_be_bytes();
        bytes[10] = c[0];
        bytes[11] = c[1];
        let mut pkt = TestSkb::new(&bytes, 20)?;
        pkt.through(&uoa, Chain::LocalIn);
        assert_eq!(&pkt.bytes()[..], &bytes[..]);
        // IPv6 with a fragment header after a destination options header.
        let mut bytes6 = ipv6_with_destopts(false);
        bytes6[40] = 44;
        let mut pkt = TestSkb::new(&bytes6, 40)?;
        pkt.through(&uoa, Chain::LocalIn);
        assert_eq!(&pkt.bytes()[..], &bytes6[..]);
        assert_eq!(uoa.stats.read(Stat::Fragment), 2);
        assert_eq!(uoa.v4.len() + uoa.v6.len(), 0);
        Ok(())
    }

    #[test]
    fn plain_udp_is_counted_and_untouched() -> Result {
        let uoa = net()?;
        let bytes = ipv4(17, &[], &[], 4300);
        let mut pkt = TestSkb::new(&bytes, 20)?;
        pkt.through(&uoa, Chain::LocalIn);
        assert_eq!(&pkt.bytes()[..], &bytes[..]);
        assert_eq!(uoa.stats.read(Stat::UoaNone), 1);
        Ok(())
    }

    #[test]
    fn opp_ipv6_after_extension_header() -> Result {
        let uoa = net()?;
        let mut pkt = TestSkb::new(&ipv6_with_destopts(true), 40)?;
        pkt.set_csum_complete();
        pkt.through(&uoa, Chain::LocalIn);
        assert_eq!(&pkt.bytes()[..], &ipv6_with_destopts(false)[..]);
        assert!(pkt.csum_matches()); // CHECKSUM_COMPLETE adjusted
        assert_eq!(pkt.offsets(), 40); // transport still at the options header
        let mut addr = [0u8; 16];
        addr[0] = 0x20;
        addr[15] = 0x42;
        let now = jiffies();
        let key = FlowKey {
            saddr: [0xfd; 16],
            daddr: [0xfe; 16],
            sport: 4400,
            dport: 5000,
        };
        assert_eq!(
            uoa.v6.lookup(&key, now, now + 10),
            Some(RealAddr::V6 { addr, port: 443 })
        );
        Ok(())
    }
}

#[kunit_tests(uoa_stats)]
mod stats {
    use crate::uoa_stats::{possible_cpus, Stat, Stats};
    use kernel::prelude::*;

    #[test]
    fn counters_add_up_over_cpus() -> Result {
        let s = Stats::new()?;
        for _ in 0..5 {
            s.inc(Stat::UoaGot);
        }
        s.inc(Stat::LookupMiss);
        assert_eq!(s.read(Stat::UoaGot), 5);
        assert_eq!(s.read(Stat::LookupMiss), 1);
        assert_eq!(s.read(Stat::UoaSaved), 0);
        let per_cpu: u64 = possible_cpus().map(|c| s.read_cpu(c, Stat::UoaGot)).sum();
        assert_eq!(per_cpu, 5);
        assert!(possible_cpus().count() >= 1);
        Ok(())
    }
}
