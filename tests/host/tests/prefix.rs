//! The trusted load balancer list (`uoa_trusted`): parsing, matching, and
//! how it is shown back.

use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};
use uoa_host_tests::uoa_prefix::*;

fn list(text: &str) -> PrefixList {
    PrefixList::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn blank_is_open() {
    for text in ["", " ", "\n", " , ,\n"] {
        let l = list(text);
        assert!(l.is_open());
        assert!(l.allows(&[203, 0, 113, 9]));
        assert!(l.allows(&[0xfd; 16]));
        assert_eq!(l.to_string(), "");
    }
}

#[test]
fn ipv4_and_ipv6_prefixes() {
    let l = list("10.0.0.0/8, 192.0.2.7\nfd00:1::/64");
    assert_eq!(l.to_string(), "10.0.0.0/8,192.0.2.7/32,fd00:1::/64");
    assert!(l.allows(&[10, 200, 3, 4]));
    assert!(!l.allows(&[11, 0, 0, 1]));
    assert!(l.allows(&[192, 0, 2, 7]));
    assert!(!l.allows(&[192, 0, 2, 8]));
    let inside: [u8; 16] = "fd00:1::99".parse::<Ipv6Addr>().unwrap().octets();
    let outside: [u8; 16] = "fd00:2::1".parse::<Ipv6Addr>().unwrap().octets();
    assert!(l.allows(&inside));
    assert!(!l.allows(&outside));
}

#[test]
fn families_do_not_mix() {
    // ::/0 trusts every IPv6 source and no IPv4 one, and the reverse.
    let v6 = list("::/0");
    assert!(v6.allows(&[0x20; 16]));
    assert!(!v6.allows(&[10, 0, 0, 1]));
    let v4 = list("0.0.0.0/0");
    assert!(v4.allows(&[10, 0, 0, 1]));
    assert!(!v4.allows(&[0; 16]));
    // An IPv4-mapped IPv6 source is IPv6.
    let mapped: [u8; 16] = "::ffff:10.0.0.1".parse::<Ipv6Addr>().unwrap().octets();
    assert!(!list("10.0.0.0/8").allows(&mapped));
}

#[test]
fn host_bits_are_ignored() {
    let l = list("10.1.2.3/16,fd00::1234/120");
    assert_eq!(l.to_string(), "10.1.0.0/16,fd00::1200/120");
    assert!(l.allows(&[10, 1, 250, 250]));
    assert!(!l.allows(&[10, 2, 0, 0]));
}

#[test]
fn odd_lengths() {
    let l = list("10.0.0.128/25");
    assert!(l.allows(&[10, 0, 0, 200]));
    assert!(!l.allows(&[10, 0, 0, 127]));
    let l = list("10.0.0.0/0");
    assert!(l.allows(&[255, 255, 255, 255]));
}

#[test]
fn bad_values_name_the_culprit() {
    let cases: &[(&str, PrefixError)] = &[
        ("10.0.0.300", PrefixError::NotAnAddress("10.0.0.300")),
        ("10.0.0.0/8,nonsense", PrefixError::NotAnAddress("nonsense")),
        ("10.0.0.0/33", PrefixError::BadLength("10.0.0.0/33")),
        ("fd00::/129", PrefixError::BadLength("fd00::/129")),
        ("10.0.0.0/", PrefixError::BadLength("10.0.0.0/")),
        ("10.0.0.0/+8", PrefixError::BadLength("10.0.0.0/+8")),
        ("10.0.0.0/8/8", PrefixError::BadLength("10.0.0.0/8/8")),
        ("10.0.0.0;8", PrefixError::NotAnAddress("10.0.0.0;8")),
    ];
    for (text, want) in cases {
        assert_eq!(PrefixList::parse(text), Err(*want), "{text}");
    }
    let many: Vec<String> = (0..=MAX_PREFIXES)
        .map(|i| format!("10.0.{i}.0/24"))
        .collect();
    assert_eq!(
        PrefixList::parse(&many.join(",")),
        Err(PrefixError::TooMany)
    );
    assert!(PrefixList::parse(&many[..MAX_PREFIXES].join(",")).is_ok());
    assert_eq!(
        PrefixError::NotAnAddress("x").to_string(),
        "'x' is not an IPv4 or IPv6 address"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5_000))]

    /// Matching agrees with a straightforward bit comparison.
    #[test]
    fn ipv4_matching_is_bit_comparison(net in any::<u32>(), len in 0u8..=32, addr in any::<u32>()) {
        let l = list(&format!("{}/{len}", Ipv4Addr::from(net)));
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        prop_assert_eq!(l.allows(&addr.to_be_bytes()), addr & mask == net & mask);
    }

    #[test]
    fn ipv6_matching_is_bit_comparison(net in any::<u128>(), len in 0u8..=128, addr in any::<u128>()) {
        let l = list(&format!("{}/{len}", Ipv6Addr::from(net)));
        let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
        prop_assert_eq!(l.allows(&addr.to_be_bytes()), addr & mask == net & mask);
    }

    /// What is shown parses back to the same list.
    #[test]
    fn display_round_trips(nets in proptest::collection::vec((any::<u32>(), 0u8..=32), 0..8)) {
        let text: Vec<String> = nets.iter().map(|(n, l)| format!("{}/{l}", Ipv4Addr::from(*n))).collect();
        let l = list(&text.join(" "));
        prop_assert_eq!(list(&l.to_string()), l);
    }

    /// Any text parses or fails with an error; never panics.
    #[test]
    fn any_text_is_handled(text in "[0-9a-f:./, ]{0,80}") {
        let _ = PrefixList::parse(&text);
    }
}
