// SPDX-License-Identifier: GPL-2.0

//! Test packets: owned `sk_buff`s built from bytes, and builders for the
//! packets a load balancer sends. Shared by the KUnit suites and the
//! benchmark build; never in the module users load.

// Each of the two builds uses a part of these.
#![allow(dead_code)]

use crate::{
    uoa_bindings as b,
    uoa_datapath::UoaNet,
    uoa_netfilter::{Chain, HookCall, PacketHandler, Verdict},
    uoa_parse::{ipv4_header_checksum, IPOPT_UOA},
    uoa_rcu::RcuSection,
    uoa_skb::{Skb, LINEAR_MIN},
    Config, RawParams,
};
use kernel::{bindings, prelude::*, sync::Arc};

pub(crate) const LB: [u8; 4] = [10, 0, 1, 1];
pub(crate) const RS: [u8; 4] = [10, 0, 1, 2];
pub(crate) const PAYLOAD: &[u8] = b"real payload";

/// An owned test packet.
pub(crate) struct TestSkb(pub(crate) *mut bindings::sk_buff);

impl TestSkb {
    pub(crate) fn new(bytes: &[u8], transport: usize) -> Result<Self> {
        // SAFETY: plain allocation.
        let skb = unsafe {
            bindings::__alloc_skb(
                bytes.len() as u32 + 64,
                bindings::GFP_KERNEL,
                0,
                bindings::NUMA_NO_NODE,
            )
        };
        if skb.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `skb` has room for `bytes` (allocated above).
        unsafe {
            let data = bindings::skb_put(skb, bytes.len() as u32).cast::<u8>();
            core::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
            b::uoa_test_skb_set_headers(skb, transport as u32);
        }
        Ok(Self(skb))
    }

    /// `bytes[..linear]` in the linear area, the rest in a page fragment.
    pub(crate) fn nonlinear(bytes: &[u8], linear: usize, transport: usize) -> Result<Self> {
        // SAFETY: the helper copies `bytes` and returns a new skb or null.
        let skb = unsafe {
            b::uoa_test_skb_nonlinear(
                bytes.as_ptr(),
                bytes.len() as u32,
                linear as u32,
                transport as u32,
            )
        };
        if skb.is_null() {
            return Err(ENOMEM);
        }
        Ok(Self(skb))
    }

    /// Bytes of the linear area.
    pub(crate) fn headlen(&self) -> usize {
        // SAFETY: valid skb.
        unsafe { ((*self.0).len - (*self.0).data_len) as usize }
    }

    /// All the packet's bytes (copied out, linear or not).
    pub(crate) fn bytes(&self) -> KVec<u8> {
        let mut v = KVec::new();
        // SAFETY: valid skb.
        let len = unsafe { (*self.0).len } as usize;
        v.resize(len, 0, GFP_KERNEL).unwrap();
        // SAFETY: `v` has room for `len` bytes, the skb holds them.
        let ret = unsafe { bindings::skb_copy_bits(self.0, 0, v.as_mut_ptr().cast(), len as i32) };
        assert_eq!(ret, 0);
        v
    }

    pub(crate) fn skb(&mut self) -> &mut Skb {
        // What the stack guarantees at the hooks, checked here.
        assert!(self.headlen() >= LINEAR_MIN);
        // SAFETY: owned by the test, used by one hook call at a time, `data`
        // at the network header, `LINEAR_MIN` bytes linear (checked).
        unsafe { Skb::from_raw(self.0) }
    }

    /// Runs the packet through `uoa`'s hook of its family (the IP version
    /// in its first byte) in `chain`, inside an RCU read-side section as
    /// netfilter runs hooks.
    pub(crate) fn through(&mut self, uoa: &UoaNet, chain: Chain) -> Verdict {
        let guard = kernel::sync::rcu::read_lock();
        let call = HookCall {
            chain,
            rcu: RcuSection::of(&guard),
        };
        let skb = self.skb();
        if skb.network_prefix::<1>()[0] >> 4 == 6 {
            uoa.ipv6(skb, call)
        } else {
            uoa.ipv4(skb, call)
        }
    }

    /// Marks the packet `CHECKSUM_COMPLETE` over all its bytes.
    pub(crate) fn set_csum_complete(&mut self) {
        // SAFETY: valid skb; `skb_checksum` reads its bytes.
        unsafe {
            let sum = bindings::skb_checksum(self.0, 0, (*self.0).len as i32, 0);
            b::uoa_test_skb_set_csum_complete(self.0, sum);
        }
    }

    /// Whether `skb->csum` still matches the bytes (folded).
    pub(crate) fn csum_matches(&self) -> bool {
        let fold = |s: u32| {
            let mut s = (s & 0xffff) + (s >> 16);
            s = (s & 0xffff) + (s >> 16);
            if s == 0xffff {
                0
            } else {
                s
            }
        };
        // SAFETY: valid skb.
        unsafe {
            let now = bindings::skb_checksum(self.0, 0, (*self.0).len as i32, 0);
            fold(b::uoa_test_skb_csum(self.0)) == fold(now)
        }
    }

    /// Makes it a GSO packet of `size`-byte UDP segments.
    pub(crate) fn set_gso(&mut self, size: u16) {
        // SAFETY: valid skb, owned by the test.
        unsafe { b::uoa_test_skb_set_gso(self.0, size) }
    }

    pub(crate) fn ip_summed(&self) -> u32 {
        // SAFETY: valid skb.
        unsafe { b::uoa_test_skb_ip_summed(self.0) }
    }

    /// Network offset * 1000 + transport offset.
    pub(crate) fn offsets(&self) -> i32 {
        // SAFETY: valid skb.
        unsafe { b::uoa_test_skb_offsets(self.0) }
    }
}

impl Drop for TestSkb {
    fn drop(&mut self) {
        // SAFETY: owned, freed once.
        unsafe {
            bindings::sk_skb_reason_drop(
                core::ptr::null(),
                self.0,
                bindings::skb_drop_reason_SKB_DROP_REASON_NOT_SPECIFIED,
            )
        };
    }
}

pub(crate) fn udp(sport: u16) -> KVec<u8> {
    let mut v = KVec::new();
    let len = (8 + PAYLOAD.len()) as u16;
    let (s, l) = (sport.to_be_bytes(), len.to_be_bytes());
    v.extend_from_slice(&[s[0], s[1], 0x13, 0x88, l[0], l[1], 0, 0], GFP_KERNEL)
        .unwrap();
    v.extend_from_slice(PAYLOAD, GFP_KERNEL).unwrap();
    v
}

/// IPv4 header (with `options`), then `middle`, then UDP from `sport`.
pub(crate) fn ipv4(protocol: u8, options: &[u8], middle: &[u8], sport: u16) -> KVec<u8> {
    let udp = udp(sport);
    let hlen = 20 + options.len();
    let total = (hlen + middle.len() + udp.len()) as u16;
    let t = total.to_be_bytes();
    let mut p = KVec::new();
    p.extend_from_slice(
        &[
            0x40 | (hlen / 4) as u8,
            0,
            t[0],
            t[1],
            0,
            0,
            0x40,
            0,
            64,
            protocol,
            0,
            0,
        ],
        GFP_KERNEL,
    )
    .unwrap();
    p.extend_from_slice(&LB, GFP_KERNEL).unwrap();
    p.extend_from_slice(&RS, GFP_KERNEL).unwrap();
    p.extend_from_slice(options, GFP_KERNEL).unwrap();
    let c = ipv4_header_checksum(&p).to_be_bytes();
    p[10] = c[0];
    p[11] = c[1];
    p.extend_from_slice(middle, GFP_KERNEL).unwrap();
    p.extend_from_slice(&udp, GFP_KERNEL).unwrap();
    p
}

pub(crate) fn opp_v1(client: [u8; 4], port: u16) -> [u8; 12] {
    let p = port.to_be_bytes();
    [
        0x10, 17, 0, 12, IPOPT_UOA, 8, p[0], p[1], client[0], client[1], client[2], client[3],
    ]
}

/// The module's default parameters (those of `module!`).
pub(crate) const DEFAULT_PARAMS: RawParams = RawParams {
    debug: 0,
    map_timeout: 360,
    map_tab_bits: 12,
    hook_forward: 0,
    map_max: 1 << 20,
    v6_to_v4_enable: 0,
    v6_to_v4_prefix: "64:ff9b::",
};

/// Namespace state with `1 << bits` buckets per table.
pub(crate) fn net_with_bits(bits: i32) -> Result<Arc<UoaNet>> {
    let config = Config::new(RawParams {
        map_tab_bits: bits,
        ..DEFAULT_PARAMS
    })
    .map_err(|_| EINVAL)?;
    Arc::pin_init(UoaNet::new(config, config.map_tab_bits)?, GFP_KERNEL)
}

/// Namespace state with small tables.
pub(crate) fn net() -> Result<Arc<UoaNet>> {
    net_with_bits(4)
}

/// IPv6 header, a destination options header (8 bytes), opp v2, UDP.
pub(crate) fn ipv6_with_destopts(opp_next: bool) -> KVec<u8> {
    let udp = udp(4400);
    let mut opp = [0u8; 24];
    opp[..4].copy_from_slice(&[0x20, 17, 0, 24]);
    opp[4..8].copy_from_slice(&[IPOPT_UOA, 20, 0x01, 0xbb]);
    opp[8] = 0x20;
    opp[23] = 0x42;
    let mut p = KVec::new();
    let plen = (8 + if opp_next { 24 } else { 0 } + udp.len()) as u16;
    let l = plen.to_be_bytes();
    p.extend_from_slice(&[0x60, 0, 0, 0, l[0], l[1], 60, 64], GFP_KERNEL)
        .unwrap();
    p.extend_from_slice(&[0xfd; 16], GFP_KERNEL).unwrap();
    p.extend_from_slice(&[0xfe; 16], GFP_KERNEL).unwrap();
    // Destination options: next header, length 0 (8 bytes), PadN.
    p.extend_from_slice(
        &[if opp_next { 248 } else { 17 }, 0, 1, 4, 0, 0, 0, 0],
        GFP_KERNEL,
    )
    .unwrap();
    if opp_next {
        p.extend_from_slice(&opp, GFP_KERNEL).unwrap();
    }
    p.extend_from_slice(&udp, GFP_KERNEL).unwrap();
    p
}
