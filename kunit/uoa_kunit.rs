// SPDX-License-Identifier: GPL-2.0

//! KUnit suites of the uoa module, compiled in only by `make KUNIT=1`
//! (`--cfg uoa_kunit`); they run in the kernel when the test build loads.

use kernel::prelude::*;

#[kunit_tests(uoa_params)]
mod params {
    use crate::{Config, ParamError};

    #[test]
    fn defaults_are_valid() {
        let c = Config::new(0, 360, 12, 0);
        assert_eq!(
            c,
            Ok(Config { debug: false, map_timeout_secs: 360, map_tab_bits: 12, hook_forward: false })
        );
    }

    #[test]
    fn flags_take_zero_or_one() {
        assert_eq!(Config::new(1, 360, 12, 1).map(|c| (c.debug, c.hook_forward)), Ok((true, true)));
        assert_eq!(Config::new(2, 360, 12, 0), Err(ParamError::Debug(2)));
        assert_eq!(Config::new(-1, 360, 12, 0), Err(ParamError::Debug(-1)));
        assert_eq!(Config::new(0, 360, 12, 7), Err(ParamError::HookForward(7)));
    }

    #[test]
    fn ranges_are_enforced() {
        assert_eq!(Config::new(0, 0, 12, 0), Err(ParamError::MapTimeout(0)));
        assert_eq!(Config::new(0, -5, 12, 0), Err(ParamError::MapTimeout(-5)));
        assert_eq!(Config::new(0, 86401, 12, 0), Err(ParamError::MapTimeout(86401)));
        assert!(Config::new(0, 86400, 12, 0).is_ok());
        assert_eq!(Config::new(0, 360, 3, 0), Err(ParamError::MapTabBits(3)));
        assert_eq!(Config::new(0, 360, 21, 0), Err(ParamError::MapTabBits(21)));
        assert!(Config::new(0, 360, 4, 0).is_ok() && Config::new(0, 360, 20, 0).is_ok());
    }
}

#[kunit_tests(uoa_parse)]
mod parse {
    use crate::uoa_parse::*;

    #[test]
    fn ipv4_client_option() {
        let area = [1, IPOPT_UOA, 8, 0x13, 0x88, 10, 1, 2, 3, 0, 0, 0];
        assert_eq!(find_uoa(&area), Ok(Some(RealAddr::V4 { addr: [10, 1, 2, 3], port: 5000 })));
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
        assert!(matches!(parse_opp(&good), Ok((OppHeader { version: 1, len: 12 }, Some(_)))));
        let mut bad = good;
        bad[3] = 5;
        assert_eq!(parse_opp(&bad), Err(ParseError::BadOppLength(5)));
        bad = good;
        bad[0] = 0x11;
        assert_eq!(parse_opp(&bad), Err(ParseError::OppReservedBits));
    }
}
