// SPDX-License-Identifier: GPL-2.0

//! The packet path and the lookup of one network namespace, in safe Rust on
//! top of the wrappers: find the UOA, record the mapping, remove the opp
//! header so the stack delivers plain UDP.
//!
//! Plain UDP without IPv4 options costs a header read, two compares and a
//! counter; everything else is off that path.
//!
//! In the FORWARD chain (`uoa_hook_forward=1`) mappings are recorded but
//! packets are left as they are: the namespace they are routed to (a
//! container on this host runs the same hooks) records the UOA itself and
//! removes the opp header there, where its applications look it up.

use kernel::{prelude::*, sync::Arc};

use crate::{
    uoa_netfilter::{Chain, HookCall, PacketHandler, Verdict},
    uoa_parse::{
        self, array_at, canonical_opp_v4, canonical_uoa_v4, find_dstopt_uoa, find_uoa,
        ipv4_checksum_update, ipv6_transport, opp_client, parse_opp_header, put_at, udp_ports,
        IpDisplay, Ipv4Header, Ipv6Header, Ipv6Transport, LookupQuery, RealAddr, Uoa, UoaExtra,
        UoaFormat, IPPROTO_OPP, IPPROTO_UDP, IPV4_HDR_LEN, IPV6_HDR_LEN, OPP_CANONICAL_LEN,
        OPP_CANONICAL_READ, OPP_HDR_LEN, UOA_CANONICAL_READ,
    },
    uoa_rcu::RcuSection,
    uoa_skb::{header_buf, Skb},
    uoa_stats::{Stat, Stats},
    uoa_table::{jiffies, Addr, Budget, FlowKey, Jiffies, Stored, Table},
    uoa_trusted,
    uoa_work::{Periodic, PeriodicWork},
    Config,
};

/// Longest opp header (with options) this module reads; a longer one is
/// counted as malformed and left alone. The load balancer sends 12 or 24.
const OPP_MAX_LEN: usize = 64;
/// How much of an IPv6 packet the extension header walk looks at.
const IPV6_WALK_LEN: usize = 256;

// The kernel's formatting macros take their own `Display`; forward to the
// `core` one the pure parser implements.
impl kernel::fmt::Display for IpDisplay<'_> {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

impl kernel::fmt::Display for RealAddr {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

/// A valid opp header found in a packet.
struct OppFound<A: Addr> {
    /// The flow it arrived on.
    key: FlowKey<A>,
    /// The UOA it holds (none: an opp header without a UOA option).
    uoa: Option<Uoa>,
    /// Bytes of network headers before it.
    headers: usize,
    /// Its length, options included.
    opp_len: usize,
}

/// What `read_opp` found: a valid opp header and the UDP ports after it.
struct OppRead {
    /// Its length, options included.
    len: usize,
    /// The UOA it holds (none: an opp header without a UOA option).
    uoa: Option<Uoa>,
    sport: u16,
    dport: u16,
}

/// Where the opp header of an IPv6 packet is.
struct Ipv6OppAt {
    /// Offset of the next-header byte that names it.
    nexthdr_offset: usize,
    /// Offset of the opp header.
    offset: usize,
}

/// What one namespace's hooks, lookups, sweeper and /proc files share.
#[pin_data]
pub(crate) struct UoaNet {
    /// Removes expired mappings while there are mappings. First, so that
    /// dropping cancels it before the tables go.
    #[pin]
    pub(crate) sweeper: PeriodicWork<UoaNet>,
    pub(crate) stats: Stats,
    #[pin]
    pub(crate) v4: Table<[u8; 4]>,
    #[pin]
    pub(crate) v6: Table<[u8; 16]>,
    /// What ByteDance's UOA carries besides the client (original
    /// destination, VNI), by flow: kept apart so that a mapping without
    /// it stays 64 bytes.
    #[pin]
    pub(crate) extra4: Table<[u8; 4], UoaExtra>,
    #[pin]
    pub(crate) extra6: Table<[u8; 16], UoaExtra>,
    /// `v6_to_v4_enable`, `v6_to_v4_prefix_str`: ByteDance's lookups.
    pub(crate) nat64: Option<[u8; 12]>,
    /// The room the two tables share (`uoa_map_max`).
    pub(crate) budget: Arc<Budget>,
    /// Mapping lifetime.
    timeout: Jiffies,
    debug: bool,
}

impl UoaNet {
    /// Empty state for one namespace, whose tables start with about
    /// `1 << table_bits` buckets (0: the smallest start).
    pub(crate) fn new(config: Config, table_bits: u32) -> Result<impl PinInit<Self, Error>> {
        let budget = Budget::new(config.map_max as usize)?;
        Ok(try_pin_init!(Self {
            sweeper <- PeriodicWork::new(config.sweep_period()),
            stats: Stats::new()?,
            v4 <- Table::new(table_bits, budget.clone()),
            v6 <- Table::new(table_bits, budget.clone()),
            // Small: only some balancers' flows have an entry there.
            extra4 <- Table::new(0, budget.clone()),
            extra6 <- Table::new(0, budget.clone()),
            nat64: config.nat64,
            budget,
            timeout: kernel::time::msecs_to_jiffies(config.map_timeout_secs * 1000),
            debug: config.debug,
        }? Error))
    }

    /// Stores a mapping seen in a packet.
    #[inline(always)]
    /// Returns whether it was stored. A UOA that carries nothing besides
    /// the client, and stores a new client for the flow, removes what
    /// another format carried for it before (`extras`): a lookup must not
    /// pair the new client with the old one's destination or VNI.
    fn record<A: Addr>(
        &self,
        rcu: &RcuSection<'_>,
        (table, extras): (&Table<A>, &Table<A, UoaExtra>),
        key: FlowKey<A>,
        uoa: Uoa,
    ) -> bool {
        self.stats.inc(Stat::UoaGot);
        self.stats.inc(Stat::format(uoa.format));
        let real = uoa.real;
        if !uoa_trusted::allows(key.saddr.as_ref(), rcu) {
            self.stats.inc(Stat::Untrusted);
            return false;
        }
        let now = jiffies();
        match table.insert_in(rcu, key, real, now, now.wrapping_add(self.timeout)) {
            Err(e) if e == ENOSPC => self.stats.inc(Stat::MapFull),
            Err(e) if e == ESTALE => {
                self.stats.inc(Stat::InsertFailed);
                self.stats.inc(Stat::StaleRemoved);
                forget_extra(rcu, extras, &key);
            }
            Err(_) => self.stats.inc(Stat::InsertFailed),
            Ok(stored) => {
                if stored == Stored::New {
                    // The budget, which `has_work` reads, counted it with
                    // a full barrier.
                    self.sweeper.kick();
                }
                if stored != Stored::Refreshed && uoa.extra == UoaExtra::None {
                    forget_extra(rcu, extras, &key);
                }
                self.stats.inc(Stat::UoaSaved);
                if self.debug {
                    log_mapping(&key, real);
                }
                return true;
            }
        }
        false
    }

    /// Stores a UOA of a form that may carry more than the client
    /// (ByteDance's options): the client in `table`, the rest, if any, in
    /// `extras`, under the same flow and with the same lifetime.
    fn record_with_extra<A: Addr>(
        &self,
        rcu: &RcuSection<'_>,
        (table, extras): (&Table<A>, &Table<A, UoaExtra>),
        key: FlowKey<A>,
        uoa: Uoa,
    ) {
        if !self.record(rcu, (table, extras), key, uoa) || uoa.extra == UoaExtra::None {
            return;
        }
        let now = jiffies();
        if extras
            .insert_in(rcu, key, uoa.extra, now, now.wrapping_add(self.timeout))
            .is_err()
        {
            self.stats.inc(Stat::InsertFailed);
        }
    }

    fn malformed(&self) {
        self.stats.inc(Stat::UoaMalformed);
    }

    /// IPv4 with options, or opp: off the fast path.
    #[cold]
    #[inline(never)]
    fn ipv4_slow(&self, skb: &mut Skb, call: HookCall<'_>) -> Verdict {
        let Ok(ip) = Ipv4Header::parse(skb.network_prefix::<IPV4_HDR_LEN>()) else {
            return Verdict::Accept;
        };
        match ip.protocol {
            IPPROTO_UDP => self.ipv4_option(skb, &ip, &call.rcu),
            IPPROTO_OPP => return self.ipv4_opp(skb, &ip, call),
            _ => {}
        }
        Verdict::Accept
    }

    /// opp over IPv4 without options, in the shape load balancers send for
    /// IPv4 clients (`canonical_opp_v4`): read in place and checked in one
    /// compare. Any other shape, a fragment or a GSO packet goes the general
    /// way (`ipv4_slow`), which reaches the same answer for this shape.
    #[inline(never)]
    fn ipv4_opp_canonical(&self, skb: &mut Skb, call: HookCall<'_>) -> Verdict {
        const END: usize = IPV4_HDR_LEN + OPP_CANONICAL_READ;
        let Some(&p) = skb.linear_prefix::<END>() else {
            return self.ipv4_slow(skb, call);
        };
        let total_len = u16::from_be_bytes(array_at(&p, 2));
        let found = if usize::from(total_len) >= END && !ipv4_fragment(&p) && !skb.is_gso() {
            canonical_opp_v4(&array_at(&p, IPV4_HDR_LEN))
        } else {
            None
        };
        let Some((real, sport, dport)) = found else {
            return self.ipv4_slow(skb, call);
        };
        let found = OppFound {
            key: FlowKey {
                saddr: array_at(&p, 12),
                daddr: array_at(&p, 16),
                sport,
                dport,
            },
            uoa: Some(Uoa::plain(real, UoaFormat::Opp)),
            headers: IPV4_HDR_LEN,
            opp_len: OPP_CANONICAL_LEN,
        };
        let unwrapped_len = total_len - OPP_CANONICAL_LEN as u16;
        self.finish_opp(
            skb,
            (&self.v4, &self.extra4),
            found,
            call,
            ipv4_as_udp(unwrapped_len),
        )
    }

    /// UDP over IPv4 whose 8 bytes of options are one UOA option with an
    /// IPv4 client (`canonical_uoa_v4`), the way load balancers send it:
    /// read in place and checked in one compare. Any other shape, a
    /// fragment or a GSO packet goes the general way (`ipv4_slow`).
    #[inline(never)]
    fn ipv4_option_canonical(&self, skb: &mut Skb, call: HookCall<'_>) -> Verdict {
        const END: usize = IPV4_HDR_LEN + UOA_CANONICAL_READ;
        let Some(&p) = skb.linear_prefix::<END>() else {
            return self.ipv4_slow(skb, call);
        };
        let total_len = usize::from(u16::from_be_bytes(array_at(&p, 2)));
        let found = if total_len >= END && !ipv4_fragment(&p) && !skb.is_gso() {
            canonical_uoa_v4(&array_at(&p, IPV4_HDR_LEN))
        } else {
            None
        };
        let Some((real, sport, dport)) = found else {
            return self.ipv4_slow(skb, call);
        };
        let key = FlowKey {
            saddr: array_at(&p, 12),
            daddr: array_at(&p, 16),
            sport,
            dport,
        };
        self.record(
            &call.rcu,
            (&self.v4, &self.extra4),
            key,
            Uoa::plain(real, UoaFormat::Ipv4Option),
        );
        Verdict::Accept
    }

    /// IPv6 opp, or extension headers: off the fast path.
    #[cold]
    #[inline(never)]
    fn ipv6_slow(&self, skb: &mut Skb, call: HookCall<'_>) -> Verdict {
        // One read: the fixed header and the extension headers after it.
        let mut window = header_buf::<IPV6_WALK_LEN>();
        let seen = skb.len().min(IPV6_WALK_LEN);
        let Some(bytes) = skb.header(0, seen, &mut window) else {
            return Verdict::Accept;
        };
        let Ok(ip) = Ipv6Header::parse(bytes) else {
            return Verdict::Accept;
        };
        match ipv6_transport(bytes) {
            Ok(Ipv6Transport::Udp {
                offset,
                dstopts: Some(at),
            }) => self.ipv6_dstopts(bytes, &ip, at, offset, &call.rcu),
            Ok(Ipv6Transport::Udp { dstopts: None, .. }) => self.stats.inc(Stat::UoaNone),
            Ok(Ipv6Transport::Fragment) => self.stats.inc(Stat::Fragment),
            Ok(Ipv6Transport::Opp {
                nexthdr_offset,
                offset,
            }) => {
                let at = Ipv6OppAt {
                    nexthdr_offset,
                    offset,
                };
                return self.ipv6_opp(skb, &ip, at, call);
            }
            _ => {}
        }
        Verdict::Accept
    }

    /// IPv4 with options: a UOA option among them, kept in the packet.
    fn ipv4_option(&self, skb: &Skb, ip: &Ipv4Header, rcu: &RcuSection<'_>) {
        // Only in FORWARD: LOCAL_IN sees reassembled datagrams.
        if ip.fragment {
            return self.stats.inc(Stat::Fragment);
        }
        // One header for several datagrams (see `gso_opp`): not inspected.
        if skb.is_gso() {
            return self.stats.inc(Stat::Gso);
        }
        let mut area = header_buf::<40>();
        let uoa = match skb
            .header(IPV4_HDR_LEN, ip.header_len - IPV4_HDR_LEN, &mut area)
            .map(find_uoa)
        {
            Some(Ok(Some(uoa))) => uoa,
            Some(Ok(None)) => return self.stats.inc(Stat::UoaNone),
            _ => return self.malformed(),
        };
        let mut udp = header_buf::<4>();
        let Some(Ok((sport, dport))) = skb.header(ip.header_len, 4, &mut udp).map(udp_ports) else {
            return self.malformed();
        };
        self.record_with_extra(
            rcu,
            (&self.v4, &self.extra4),
            FlowKey {
                saddr: ip.saddr,
                daddr: ip.daddr,
                sport,
                dport,
            },
            uoa,
        );
    }

    /// UDP over IPv6 after a Destination Options header at `at` (of the
    /// walked `bytes`), where ByteDance and Huawei put their UOA. The header
    /// stays: its option types tell the stack to skip them.
    fn ipv6_dstopts(
        &self,
        bytes: &[u8],
        ip: &Ipv6Header,
        at: usize,
        udp: usize,
        rcu: &RcuSection<'_>,
    ) {
        // The walk checked that the header lies before `udp`.
        let hdr = &bytes[at..at + (usize::from(bytes[at + 1]) + 1) * 8];
        let uoa = match find_dstopt_uoa(hdr) {
            Ok(Some(uoa)) => uoa,
            Ok(None) => return self.stats.inc(Stat::UoaNone),
            Err(_) => return self.malformed(),
        };
        let Some(Ok((sport, dport))) = bytes.get(udp..).map(udp_ports) else {
            return self.malformed();
        };
        let key = FlowKey {
            saddr: ip.saddr,
            daddr: ip.daddr,
            sport,
            dport,
        };
        self.record_with_extra(rcu, (&self.v6, &self.extra6), key, uoa);
    }

    /// Reads and validates the opp header at `offset`, with the UDP ports
    /// after it. `end` is where the packet's payload ends.
    fn read_opp(&self, skb: &Skb, offset: usize, end: usize) -> Option<OppRead> {
        let mut fixed = header_buf::<OPP_HDR_LEN>();
        let avail = end.saturating_sub(offset);
        // The fixed part says how long the whole is; then the whole with
        // the UDP ports after it, in one read.
        let mut whole = header_buf::<{ OPP_MAX_LEN + 4 }>();
        let read = skb
            .header(offset, OPP_HDR_LEN, &mut fixed)
            .and_then(|h| parse_opp_header(h, avail).ok())
            .filter(|h| h.len <= OPP_MAX_LEN)
            .and_then(|h| {
                let (opp, udp) = skb.header(offset, h.len + 4, &mut whole)?.split_at(h.len);
                let uoa = opp_client(&h, opp).ok()?;
                let (sport, dport) = udp_ports(udp).ok()?;
                Some(OppRead {
                    len: h.len,
                    uoa,
                    sport,
                    dport,
                })
            });
        if read.is_none() {
            self.malformed();
        }
        read
    }

    fn ipv4_opp(&self, skb: &mut Skb, ip: &Ipv4Header, call: HookCall<'_>) -> Verdict {
        if ip.fragment {
            // Only in FORWARD: LOCAL_IN sees reassembled datagrams.
            self.stats.inc(Stat::Fragment);
            return Verdict::Accept;
        }
        if skb.is_gso() {
            return self.gso_opp(call.chain);
        }
        let end = ip.total_len.min(skb.len());
        let Some(OppRead {
            len: opp_len,
            uoa,
            sport,
            dport,
        }) = self.read_opp(skb, ip.header_len, end)
        else {
            return self.rejected(call.chain);
        };
        let key = FlowKey {
            saddr: ip.saddr,
            daddr: ip.daddr,
            sport,
            dport,
        };
        let total_len = (ip.total_len - opp_len) as u16;
        let found = OppFound {
            key,
            uoa,
            headers: ip.header_len,
            opp_len,
        };
        self.finish_opp(
            skb,
            (&self.v4, &self.extra4),
            found,
            call,
            ipv4_as_udp(total_len),
        )
    }

    fn ipv6_opp(
        &self,
        skb: &mut Skb,
        ip: &Ipv6Header,
        at: Ipv6OppAt,
        call: HookCall<'_>,
    ) -> Verdict {
        let Ipv6OppAt {
            nexthdr_offset,
            offset,
        } = at;
        if skb.is_gso() {
            return self.gso_opp(call.chain);
        }
        let end = (IPV6_HDR_LEN + ip.payload_len).min(skb.len());
        let Some(OppRead {
            len: opp_len,
            uoa,
            sport,
            dport,
        }) = self.read_opp(skb, offset, end)
        else {
            return self.rejected(call.chain);
        };
        let key = FlowKey {
            saddr: ip.saddr,
            daddr: ip.daddr,
            sport,
            dport,
        };
        let payload_len = (ip.payload_len - opp_len) as u16;
        let found = OppFound {
            key,
            uoa,
            headers: offset,
            opp_len,
        };
        self.finish_opp(skb, (&self.v6, &self.extra6), found, call, |hdr| {
            hdr[nexthdr_offset] = IPPROTO_UDP;
            put_at(hdr, 4, payload_len.to_be_bytes());
        })
    }

    /// What becomes of an opp packet that is malformed, or whose header
    /// cannot be removed. In LOCAL_IN it is dropped and counted: left as
    /// protocol 248, which nothing on this host receives, it would only
    /// make the stack answer its (possibly spoofed) source with an ICMP
    /// error. In FORWARD it goes on to the namespace that receives it.
    fn rejected(&self, chain: Chain) -> Verdict {
        if chain == Chain::Forward {
            return Verdict::Accept;
        }
        self.stats.inc(Stat::OppDropped);
        Verdict::Drop
    }

    /// A GSO packet with an opp header: one header standing for several
    /// datagrams, which neither GRO (it merges only UDP and TCP, and no
    /// IPv4 packet with options) nor a balancer produces; only a local
    /// sender with segmentation offload could. Nothing is recorded, and it
    /// is rejected as a malformed one is.
    fn gso_opp(&self, chain: Chain) -> Verdict {
        self.stats.inc(Stat::Gso);
        self.rejected(chain)
    }

    /// Records what a valid opp header carried and, in LOCAL_IN, removes
    /// it from the packet; `edit` then fixes the moved network headers up
    /// for plain UDP. Inline: the canonical IPv4 path then moves its
    /// 20-byte header without a call.
    #[inline(always)]
    fn finish_opp<A: Addr>(
        &self,
        skb: &mut Skb,
        tables: (&Table<A>, &Table<A, UoaExtra>),
        found: OppFound<A>,
        call: HookCall<'_>,
        edit: impl FnOnce(&mut [u8]),
    ) -> Verdict {
        let OppFound {
            key,
            uoa,
            headers,
            opp_len,
        } = found;
        match uoa {
            Some(uoa) => {
                self.record(&call.rcu, tables, key, uoa);
            }
            None => self.stats.inc(Stat::UoaNone),
        }
        if call.chain == Chain::LocalIn && skb.remove_after_headers(headers, opp_len, edit).is_err()
        {
            self.stats.inc(Stat::StripFailed);
            return self.rejected(call.chain);
        }
        Verdict::Accept
    }

    /// The real client of a flow and what else its UOA carried (ByteDance's
    /// lookups); refreshes both. A flow's extra goes with its client: one
    /// without a live client answers nothing.
    pub(crate) fn lookup_with_extra(&self, query: &LookupQuery) -> Option<(RealAddr, UoaExtra)> {
        let guard = kernel::sync::rcu::read_lock();
        let rcu = RcuSection::of(&guard);
        let now = jiffies();
        let refresh = now.wrapping_add(self.timeout);
        match *query {
            LookupQuery::V4 {
                saddr,
                daddr,
                sport,
                dport,
            } => {
                let key = FlowKey {
                    saddr,
                    daddr,
                    sport,
                    dport,
                };
                let real = self.v4.lookup_in(&rcu, &key, now, refresh)?;
                let extra = self.extra4.lookup_in(&rcu, &key, now, refresh);
                Some((real, extra.unwrap_or(UoaExtra::None)))
            }
            LookupQuery::V6 {
                saddr,
                daddr,
                sport,
                dport,
            } => {
                let key = FlowKey {
                    saddr,
                    daddr,
                    sport,
                    dport,
                };
                let real = self.v6.lookup_in(&rcu, &key, now, refresh)?;
                let extra = self.extra6.lookup_in(&rcu, &key, now, refresh);
                Some((real, extra.unwrap_or(UoaExtra::None)))
            }
        }
    }

    /// The real client of a flow, as the lookup asks; refreshes the mapping.
    pub(crate) fn lookup(&self, query: &LookupQuery) -> Option<RealAddr> {
        let guard = kernel::sync::rcu::read_lock();
        let rcu = RcuSection::of(&guard);
        let now = jiffies();
        let refresh = now.wrapping_add(self.timeout);
        match *query {
            LookupQuery::V4 {
                saddr,
                daddr,
                sport,
                dport,
            } => self.v4.lookup_in(
                &rcu,
                &FlowKey {
                    saddr,
                    daddr,
                    sport,
                    dport,
                },
                now,
                refresh,
            ),
            LookupQuery::V6 {
                saddr,
                daddr,
                sport,
                dport,
            } => {
                // A dual-stack socket sees IPv4 peers as ::ffff:a.b.c.d.
                match (uoa_parse::v4_mapped(&saddr), uoa_parse::v4_mapped(&daddr)) {
                    (Some(s4), d4) if d4.is_some() || daddr == [0; 16] => self.v4.lookup_in(
                        &rcu,
                        &FlowKey {
                            saddr: s4,
                            daddr: d4.unwrap_or([0; 4]),
                            sport,
                            dport,
                        },
                        now,
                        refresh,
                    ),
                    _ => self.v6.lookup_in(
                        &rcu,
                        &FlowKey {
                            saddr,
                            daddr,
                            sport,
                            dport,
                        },
                        now,
                        refresh,
                    ),
                }
            }
        }
    }
}

/// Whether an IPv4 header (at least 8 bytes of it) is a fragment's: MF set
/// or a non-zero offset.
#[inline(always)]
fn ipv4_fragment(h: &[u8]) -> bool {
    u16::from_be_bytes(array_at(h, 6)) & 0x3fff != 0
}

/// Removes what a flow's earlier UOA carried besides its client (a
/// ByteDance destination or VNI), when the flow's client changes. Only on
/// a new or changed mapping, and one load when no such UOA ever came.
fn forget_extra<A: Addr>(rcu: &RcuSection<'_>, extras: &Table<A, UoaExtra>, key: &FlowKey<A>) {
    if extras.len() != 0 {
        extras.remove_in(rcu, key);
    }
}

/// `uoa_debug=1`: logs a stored mapping (rate-limited). Out of line, so the
/// formatting's stack frame stays off the packet path.
#[cold]
#[inline(never)]
fn log_mapping<A: Addr>(key: &FlowKey<A>, real: RealAddr) {
    if crate::net_ratelimit() {
        pr_info!(
            "{}:{} -> {}:{} real client {}\n",
            IpDisplay(key.saddr.as_ref()),
            key.sport,
            IpDisplay(key.daddr.as_ref()),
            key.dport,
            real
        );
    }
}

/// The edit that makes an IPv4 header whose opp header was removed a plain
/// UDP one of `total_len` bytes: total length (bytes 2-3) and protocol
/// (byte 9, in the word with the TTL) change; the checksum follows them.
fn ipv4_as_udp(total_len: u16) -> impl FnOnce(&mut [u8]) {
    move |hdr| {
        let word = |h: &[u8], at: usize| u16::from_be_bytes(array_at(h, at));
        let (old_len, old_ttl_proto) = (word(hdr, 2), word(hdr, 8));
        put_at(hdr, 2, total_len.to_be_bytes());
        hdr[9] = IPPROTO_UDP;
        let mut csum = word(hdr, 10);
        csum = ipv4_checksum_update(csum, old_len, word(hdr, 2));
        csum = ipv4_checksum_update(csum, old_ttl_proto, word(hdr, 8));
        put_at(hdr, 10, csum.to_be_bytes());
    }
}

impl PacketHandler for UoaNet {
    #[inline(always)]
    fn ipv4(&self, skb: &mut Skb, call: HookCall<'_>) -> Verdict {
        // The fast path, for most packets: UDP without IP options, decided
        // from two bytes of the header, which the stack has pulled into the
        // linear area before any hook (the `Skb` invariant). The slow path
        // is a tail call.
        let h = skb.network_prefix::<10>();
        if h[0] != 0x45 {
            // IP options (or a header this module leaves to the stack); of
            // these, a UDP header of 28 bytes is most likely a lone UOA.
            if h[0] == 0x47 && h[9] == IPPROTO_UDP {
                return self.ipv4_option_canonical(skb, call);
            }
            return self.ipv4_slow(skb, call);
        }
        // Plain UDP first: the commonest packet takes the first branch.
        if h[9] == IPPROTO_UDP {
            self.stats.inc_const::<{ Stat::UoaNone as usize }>();
            return Verdict::Accept;
        }
        if h[9] == IPPROTO_OPP {
            return self.ipv4_opp_canonical(skb, call);
        }
        Verdict::Accept
    }

    #[inline(always)]
    fn ipv6(&self, skb: &mut Skb, call: HookCall<'_>) -> Verdict {
        match skb.network_prefix::<8>()[6] {
            IPPROTO_UDP => self.stats.inc(Stat::UoaNone),
            // opp, or extension headers that may precede it.
            IPPROTO_OPP | 0 | 43 | 44 | 60 => return self.ipv6_slow(skb, call),
            _ => {}
        }
        Verdict::Accept
    }
}

// SAFETY: the offset of `sweeper`, a `PeriodicWork<UoaNet>`.
unsafe impl Periodic for UoaNet {
    const WORK_OFFSET: usize = core::mem::offset_of!(UoaNet, sweeper);

    fn run(&self) {
        let now = jiffies();
        self.v4.sweep(now);
        self.v6.sweep(now);
        self.extra4.sweep(now);
        self.extra6.sweep(now);
    }

    fn has_work(&self) -> bool {
        self.budget.used() > 0
    }
}
