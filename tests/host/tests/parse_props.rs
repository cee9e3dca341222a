//! Property tests: any bytes either parse to a valid UOA or to a typed
//! error, and never panic.

use proptest::prelude::*;
use uoa_host_tests::uoa_parse::*;

/// The first UOA option of an option area, by an RFC 791 walk written
/// here independently of the parser: `END` stops, `NOP` is one byte, any
/// other option is type, length (2 to what is left), data.
fn first_uoa_option(area: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    while i < area.len() {
        match area[i] {
            0 => return None,
            1 => i += 1,
            kind => {
                let len = usize::from(*area.get(i + 1)?);
                if len < 2 || i + len > area.len() {
                    return None;
                }
                if kind == IPOPT_UOA || kind == IPOPT_UOA_ASYM || kind == IPOPT_UOA_VNI {
                    return Some(&area[i..i + len]);
                }
                i += len;
            }
        }
    }
    None
}

/// The address bytes of a client.
fn real_bytes(real: &RealAddr) -> &[u8] {
    match real {
        RealAddr::V4 { addr, .. } => addr,
        RealAddr::V6 { addr, .. } => addr,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn option_area_never_panics(area in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(Some(uoa)) = find_uoa(&area) {
            // The UOA came from the first UOA-family option of a well-formed
            // walk, of one of its type's lengths, and says what that option
            // says. (A byte 31 inside another option's data is not an
            // option.)
            let opt = first_uoa_option(&area);
            prop_assert!(opt.is_some());
            let opt = opt.unwrap();
            let (kind, len) = (opt[0], opt[1]);
            let addr_at = |at: usize, n: usize| &opt[at..at + n];
            match uoa.format {
                UoaFormat::Ipv4Option => {
                    prop_assert_eq!(kind, IPOPT_UOA);
                    prop_assert!(len == UOA_LEN_IPV4 || len == UOA_LEN_IPV6);
                    let port = u16::from_be_bytes([opt[2], opt[3]]);
                    prop_assert_eq!(uoa.real.port(), port);
                    prop_assert_eq!(real_bytes(&uoa.real), addr_at(4, opt.len() - 4));
                    prop_assert_eq!(uoa.extra, UoaExtra::None);
                }
                UoaFormat::BytedanceOption => {
                    prop_assert!(kind == IPOPT_UOA || kind == IPOPT_UOA_ASYM);
                    prop_assert!(len == 16 || len == 40);
                    let n = if len == 16 { 4 } else { 16 };
                    prop_assert_eq!(opt[2], u8::from(len == 40));
                    prop_assert_eq!(uoa.real.port(), u16::from_be_bytes([opt[4], opt[5]]));
                    prop_assert_eq!(real_bytes(&uoa.real), addr_at(8, n));
                    let UoaExtra::Destination(dest) = uoa.extra else {
                        return Err(TestCaseError::fail("no destination"));
                    };
                    prop_assert_eq!(dest.port(), u16::from_be_bytes([opt[6], opt[7]]));
                    prop_assert_eq!(real_bytes(&dest), addr_at(8 + n, n));
                }
                UoaFormat::BytedanceVniOption => {
                    prop_assert_eq!(kind, IPOPT_UOA_VNI);
                    prop_assert!(len == 16 || len == 32);
                    prop_assert_eq!(opt[2], u8::from(len == 32));
                    prop_assert_eq!(uoa.real.port(), u16::from_be_bytes([opt[8], opt[9]]));
                    prop_assert_eq!(real_bytes(&uoa.real), addr_at(12, if len == 16 { 4 } else { 16 }));
                    prop_assert_eq!(uoa.extra, UoaExtra::Vni(u32::from_be_bytes([opt[4], opt[5], opt[6], opt[7]])));
                }
                other => return Err(TestCaseError::fail(format!("{other:?} from an IPv4 option area"))),
            }
        }
    }

    #[test]
    fn opp_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        match parse_opp(&bytes) {
            Ok((hdr, real)) => {
                prop_assert!(hdr.len >= OPP_HDR_LEN && hdr.len % 4 == 0 && hdr.len <= bytes.len());
                prop_assert!(hdr.version == OPP_VERSION_IPV4 || hdr.version == OPP_VERSION_IPV6);
                prop_assert_eq!(bytes[1], IPPROTO_UDP);
                if let Some(uoa) = real {
                    if hdr.is_bytedance() {
                        // ByteDance's variant: one option, exactly filling it.
                        prop_assert!(hdr.len == 12 || hdr.len == 24);
                        prop_assert_eq!(uoa.format, UoaFormat::BytedanceOpp);
                        prop_assert_eq!(matches!(uoa.real, RealAddr::V4 { .. }), hdr.len == 12);
                    } else {
                        // The client's family always agrees with the opp version.
                        prop_assert_eq!(uoa.format, UoaFormat::Opp);
                        prop_assert_eq!(matches!(uoa.real, RealAddr::V4 { .. }), hdr.version == OPP_VERSION_IPV4);
                    }
                }
            }
            Err(_) => {}
        }
    }

    /// The one-read parser of the commonest opp header answers exactly as
    /// the general one wherever it answers. Half the inputs start as that
    /// header with one byte of its fixed part changed, so both answers
    /// come up often.
    #[test]
    fn canonical_opp_agrees_with_the_general_parser(
        tail in any::<[u8; 10]>(),
        change in any::<Option<(prop::sample::Index, u8)>>(),
        random in any::<[u8; 16]>(),
        from_random in any::<bool>(),
    ) {
        let mut b = [0u8; OPP_CANONICAL_READ];
        if from_random {
            b = random;
        } else {
            b[..6].copy_from_slice(&[0x10, IPPROTO_UDP, 0, 12, IPOPT_UOA, UOA_LEN_IPV4]);
            b[6..].copy_from_slice(&tail);
            if let Some((at, v)) = change {
                b[at.index(6)] = v;
            }
        }
        if let Some((real, sport, dport)) = canonical_opp_v4(&b) {
            let hdr = parse_opp_header(&b, b.len()).expect("the general parser accepts it");
            prop_assert_eq!(hdr.len, OPP_CANONICAL_LEN);
            prop_assert_eq!(opp_client(&hdr, &b[..hdr.len]), Ok(Some(Uoa::plain(real, UoaFormat::Opp))));
            prop_assert_eq!(udp_ports(&b[hdr.len..]), Ok((sport, dport)));
        } else if let Ok(hdr) = parse_opp_header(&b, b.len()) {
            // Refused: then it is not that shape (other length, version,
            // or options), whatever the general parser makes of it.
            prop_assert!(hdr.len != OPP_CANONICAL_LEN || b[4] != IPOPT_UOA || b[5] != UOA_LEN_IPV4
                || hdr.version != OPP_VERSION_IPV4);
        }
    }

    /// The one-read parser of a lone IPv4 UOA option answers as
    /// `find_uoa` and `udp_ports` wherever it answers.
    #[test]
    fn canonical_uoa_agrees_with_the_general_parser(
        tail in any::<[u8; 10]>(),
        first in prop_oneof![Just(IPOPT_UOA), any::<u8>()],
        second in prop_oneof![Just(UOA_LEN_IPV4), any::<u8>()],
    ) {
        let mut b = [0u8; UOA_CANONICAL_READ];
        b[0] = first;
        b[1] = second;
        b[2..].copy_from_slice(&tail);
        let opt = usize::from(UOA_LEN_IPV4);
        match canonical_uoa_v4(&b) {
            Some((real, sport, dport)) => {
                prop_assert_eq!(find_uoa(&b[..opt]), Ok(Some(Uoa::plain(real, UoaFormat::Ipv4Option))));
                prop_assert_eq!(udp_ports(&b[opt..]), Ok((sport, dport)));
            }
            None => prop_assert!(first != IPOPT_UOA || second != UOA_LEN_IPV4),
        }
    }

    /// Any Destination Options header: no panic, and a UOA found is of a
    /// Destination Options format, from an option that fits the header.
    #[test]
    fn dstopts_never_panic(hdr in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(Some(uoa)) = find_dstopt_uoa(&hdr) {
            prop_assert!(matches!(
                uoa.format,
                UoaFormat::HuaweiDstopt | UoaFormat::BytedanceDstopt | UoaFormat::BytedanceVniDstopt
            ));
        }
    }

    /// ByteDance's lookup layouts: an answer decodes as the flow it names
    /// (client as source, destination as destination), in both families
    /// and both layouts, and 2050 carries the VNI; the legacy layout keeps
    /// its input and holds an IPv4 client.
    #[test]
    fn lookup_layouts_round_trip(
        c in any::<[u8; 16]>(), d in any::<[u8; 16]>(), cp in any::<u16>(), dp in any::<u16>(),
        v6 in any::<bool>(), vni in any::<u32>(), input in any::<[u8; 18]>(),
    ) {
        let addr = |a: [u8; 16], port| if v6 {
            RealAddr::V6 { addr: a, port }
        } else {
            RealAddr::V4 { addr: [a[0], a[1], a[2], a[3]], port }
        };
        let (real, dest) = (addr(c, cp), addr(d, dp));
        for layout in [BdLookup::V1, BdLookup::V2] {
            let out = layout.encode(&real, &UoaExtra::Destination(dest), None);
            prop_assert!(out[layout.len()..].iter().all(|&b| b == 0));
            let want = match (real, dest) {
                (RealAddr::V4 { addr: saddr, .. }, RealAddr::V4 { addr: daddr, .. }) =>
                    LookupQuery::V4 { saddr, daddr, sport: cp, dport: dp },
                (RealAddr::V6 { addr: saddr, .. }, RealAddr::V6 { addr: daddr, .. }) =>
                    LookupQuery::V6 { saddr, daddr, sport: cp, dport: dp },
                _ => unreachable!(),
            };
            prop_assert_eq!(layout.decode(&out), Some(want));
        }
        let out = BdLookup::V2.encode(&real, &UoaExtra::Vni(vni), None);
        prop_assert_eq!(&out[4..8], &vni.to_ne_bytes());
        match encode_legacy(&input, &real) {
            Some(out) => {
                prop_assert!(!v6);
                prop_assert_eq!(&out[..12], &input[..12]);
                prop_assert_eq!(&out[12..16], &c[..4]);
                prop_assert_eq!(u16::from_be_bytes([out[16], out[17]]), cp);
            }
            None => prop_assert!(v6),
        }
    }

    #[test]
    fn uoa_options_round_trip(port in any::<u16>(), addr in any::<[u8; 4]>(), pad in 0usize..4) {
        let mut area = vec![1u8; pad];
        area.extend_from_slice(&[IPOPT_UOA, 8]);
        area.extend_from_slice(&port.to_be_bytes());
        area.extend_from_slice(&addr);
        prop_assert_eq!(find_uoa(&area), Ok(Some(Uoa::plain(RealAddr::V4 { addr, port }, UoaFormat::Ipv4Option))));
    }

    #[test]
    fn headers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
        let _ = Ipv4Header::parse(&bytes);
        let _ = Ipv6Header::parse(&bytes);
        let _ = udp_ports(&bytes);
        let _ = ipv4_header_checksum(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn ipv6_walk_never_panics_and_stays_inside(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
        match ipv6_transport(&bytes) {
            Ok(Ipv6Transport::Opp { nexthdr_offset, offset }) => {
                prop_assert!(nexthdr_offset < offset && offset <= bytes.len());
                prop_assert_eq!(bytes[nexthdr_offset], IPPROTO_OPP);
            }
            Ok(Ipv6Transport::Udp { offset, dstopts }) => {
                prop_assert!(offset <= bytes.len());
                if let Some(d) = dstopts {
                    // A Destination Options header before UDP, whole.
                    prop_assert!(d >= IPV6_HDR_LEN && d + (usize::from(bytes[d + 1]) + 1) * 8 <= offset);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn lookup_abi_round_trips(map in proptest::array::uniform32(any::<u8>()), tail in proptest::array::uniform26(any::<u8>()),
                              real_v4 in any::<[u8; 4]>(), port in any::<u16>()) {
        let mut m = [0u8; PARAM_MAP_LEN];
        m[..32].copy_from_slice(&map);
        m[32..].copy_from_slice(&tail);
        let before = m;
        let query = decode_lookup(&array_at(&m, 0));
        let af = u16::from_ne_bytes([m[0], m[1]]);
        prop_assert_eq!(query.is_some(), af == AF_INET || af == AF_INET6);
        put_at(&mut m, QUERY_LEN, encode_real(&RealAddr::V4 { addr: real_v4, port }));
        // The answer is the output half; the input half stays.
        prop_assert_eq!(&m[..38], &before[..38]);
        prop_assert_eq!(&m[40..44], &real_v4[..]);
        prop_assert_eq!(&m[44..56], &[0u8; 12][..]);
        prop_assert_eq!(u16::from_be_bytes([m[56], m[57]]), port);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// Updating the IPv4 header checksum for changed words gives what
    /// summing the whole header again gives (the opp removal relies on it).
    #[test]
    fn checksum_update_equals_recompute(
        mut header in proptest::collection::vec(any::<u8>(), 20),
        len in any::<u16>(),
        proto in any::<u8>(),
    ) {
        let csum = ipv4_header_checksum(&header);
        header[10..12].copy_from_slice(&csum.to_be_bytes());
        let word = |h: &[u8], at: usize| u16::from_be_bytes([h[at], h[at + 1]]);
        let (old_len, old_ttl_proto) = (word(&header, 2), word(&header, 8));
        header[2..4].copy_from_slice(&len.to_be_bytes());
        header[9] = proto;
        let updated = ipv4_checksum_update(
            ipv4_checksum_update(csum, old_len, word(&header, 2)),
            old_ttl_proto,
            word(&header, 8),
        );
        prop_assert_eq!(updated, ipv4_header_checksum(&header));
    }
}
