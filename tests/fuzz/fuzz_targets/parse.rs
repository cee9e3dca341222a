// SPDX-License-Identifier: GPL-2.0

//! libFuzzer target over the module's parser (`uoa_parse.rs`, built on the
//! host): every parser the packet path uses gets the same bytes, and what
//! each returns is checked against the bytes, so a wrong offset or length
//! is a crash, not only a panic. Run by `scripts/fuzz.sh`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use uoa_host_tests::uoa_parse::*;

fuzz_target!(|data: &[u8]| {
    // An IPv4 option area (or the options of an opp header).
    match find_uoa(data) {
        Ok(Some(uoa)) => {
            // The client it read is in the bytes, port then address (DPVS's
            // form) or address with the port before it (ByteDance's).
            let real = uoa.real;
            let addr: &[u8] = match &real {
                RealAddr::V4 { addr, .. } => addr,
                RealAddr::V6 { addr, .. } => addr,
            };
            let port = real.port().to_be_bytes();
            match uoa.format {
                UoaFormat::Ipv4Option => {
                    let len = 4 + addr.len() as u8;
                    let option = [&[IPOPT_UOA, len, port[0], port[1]][..], addr].concat();
                    assert!(data.windows(option.len()).any(|w| w == option));
                }
                UoaFormat::BytedanceOption | UoaFormat::BytedanceVniOption => {
                    assert!(data.windows(addr.len()).any(|w| w == addr));
                    assert!(data.windows(2).any(|w| w == port));
                }
                other => panic!("{other:?} from an IPv4 option area"),
            }
        }
        Ok(None) | Err(_) => {}
    }

    // A Destination Options header: a client found is in it.
    if let Ok(Some(uoa)) = find_dstopt_uoa(data) {
        let addr: &[u8] = match &uoa.real {
            RealAddr::V4 { addr, .. } => addr,
            RealAddr::V6 { addr, .. } => addr,
        };
        assert!(data.windows(addr.len()).any(|w| w == addr));
    }

    // An opp header: the fixed part, then the options, as the packet path
    // reads them; the two steps agree with the one-step parse.
    if let Ok(header) = parse_opp_header(data, data.len()) {
        assert!(header.len >= OPP_HDR_LEN && header.len % 4 == 0 && header.len <= data.len());
        let client = opp_client(&header, data);
        assert_eq!(parse_opp(&data[..header.len]), client.map(|c| (header, c)));
    }

    // An IPv4 header.
    if let Ok(ip) = Ipv4Header::parse(data) {
        assert!((IPV4_HDR_LEN..=60).contains(&ip.header_len));
    }

    // An IPv6 packet: the walk's offsets stay inside it, and name what
    // they say.
    if Ipv6Header::parse(data).is_ok() {
        match ipv6_transport(data) {
            Ok(Ipv6Transport::Udp { offset, dstopts }) => {
                assert!(offset <= data.len());
                if let Some(d) = dstopts {
                    assert!(d < offset && (usize::from(data[d + 1]) + 1) * 8 + d <= offset);
                }
            }
            Ok(Ipv6Transport::Opp {
                nexthdr_offset,
                offset,
            }) => {
                assert!(nexthdr_offset < offset && offset <= data.len());
                assert_eq!(data[nexthdr_offset], IPPROTO_OPP);
            }
            _ => {}
        }
    }

    // The lookup ABI: a query decodes or is refused by its family alone,
    // and an answer fills exactly the output half.
    if data.len() >= QUERY_LEN {
        let query: [u8; QUERY_LEN] = array_at(data, 0);
        let af = u16::from_ne_bytes([query[0], query[1]]);
        assert_eq!(decode_lookup(&query).is_some(), af == AF_INET || af == AF_INET6);
    }
    if data.len() >= 18 {
        let real = RealAddr::V6 {
            addr: array_at(data, 0),
            port: u16::from_be_bytes([data[16], data[17]]),
        };
        let answer = encode_real(&real);
        assert_eq!(&answer[2..18], &data[..16]);
    }
});
