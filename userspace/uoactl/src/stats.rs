// SPDX-License-Identifier: GPL-2.0
//! The module's counters: `/proc/net/uoa_stats` (DPVS's layout) and
//! `/proc/net/uoa_stats_extra` ("name value" lines), and their rates.

use std::time::Duration;

/// The names given to the seven columns of `uoa_stats`, in order.
pub const DPVS_NAMES: [&str; 7] = [
    "lookup_success",
    "lookup_miss",
    "lookup_invalid",
    "uoa_got",
    "uoa_none",
    "uoa_saved",
    "ack_fail",
];

/// One named value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counter {
    /// Its name: one of [`DPVS_NAMES`] or as `uoa_stats_extra` gives it.
    pub name: String,
    /// Its value.
    pub value: u64,
}

/// All the values, the DPVS columns first, then the extra ones in the
/// order of their file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// The values, in order.
    pub counters: Vec<Counter>,
}

impl Stats {
    /// The value named `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.counters
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.value)
    }
}

/// Parses `uoa_stats`: a header line, then the seven numbers.
pub fn parse_dpvs(text: &str) -> Result<Vec<Counter>, String> {
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let _header = lines.next();
    let numbers = lines.next().ok_or("uoa_stats has no line of numbers")?;
    let values: Vec<u64> = numbers
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| format!("uoa_stats: not a line of numbers: {numbers:?}"))?;
    if values.len() != DPVS_NAMES.len() {
        return Err(format!(
            "uoa_stats: {} numbers, not {}",
            values.len(),
            DPVS_NAMES.len()
        ));
    }
    Ok(DPVS_NAMES
        .iter()
        .zip(values)
        .map(|(name, value)| Counter {
            name: (*name).to_owned(),
            value,
        })
        .collect())
}

/// Parses `uoa_stats_extra`: "name value" lines, kept in order, whatever
/// their names. Lines that are not a name and a number are skipped, so that
/// a line of another form in a later module does not hide the rest.
pub fn parse_extra(text: &str) -> Vec<Counter> {
    text.lines().filter_map(parse_extra_line).collect()
}

/// One "name value" line.
fn parse_extra_line(line: &str) -> Option<Counter> {
    let mut fields = line.split_whitespace();
    let name = fields.next()?;
    let value = fields.next()?.parse().ok()?;
    if fields.next().is_some() {
        return None;
    }
    Some(Counter {
        name: name.to_owned(),
        value,
    })
}

/// Whether the value named `name` is a gauge (a current size) rather than
/// a counter that only grows.
pub fn is_gauge(name: &str) -> bool {
    name.starts_with("mappings_")
        || name.starts_with("table_bytes_")
        || name.starts_with("mapping_bytes_")
}

/// How much a counter grew from `old` to `new`. A counter that went down
/// was reset (the module reloaded, or it wrapped): it grew by its new value.
pub fn counter_delta(old: u64, new: u64) -> u64 {
    new.checked_sub(old).unwrap_or(new)
}

/// A value over an interval: a counter's rate per second, or a gauge's
/// value at its end.
#[derive(Clone, Debug, PartialEq)]
pub struct Rate {
    /// The counter's name.
    pub name: String,
    /// Per second for a counter, the value for a gauge.
    pub value: f64,
    /// Whether it is a gauge.
    pub gauge: bool,
}

/// The rates of every value of `current` since `previous`, `elapsed`
/// apart. A counter missing from `previous` counts from zero.
pub fn rates(previous: &Stats, current: &Stats, elapsed: Duration) -> Vec<Rate> {
    let seconds = elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
    current
        .counters
        .iter()
        .map(|counter| {
            let gauge = is_gauge(&counter.name);
            let value = if gauge {
                counter.value as f64
            } else {
                let old = previous.get(&counter.name).unwrap_or(0);
                counter_delta(old, counter.value) as f64 / seconds
            };
            Rate {
                name: counter.name.clone(),
                value,
                gauge,
            }
        })
        .collect()
}

/// The plain listing: one "name value" line per value.
pub fn render_plain(stats: &Stats) -> String {
    stats
        .counters
        .iter()
        .map(|c| format!("{} {}\n", c.name, c.value))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const DPVS: &str =
        " Success     Miss  Invalid|UOA  Got     None    Saved Ack-Fail\n\
        \x20      3        1        0        5       10        4        0\n";

    pub(crate) const EXTRA: &str = "malformed 2\nfragments 0\nstrip_failed 0\n\
        mappings_ipv4 3\nmappings_ipv6 1\nmappings_max 1048576\nmap_full 0\n\
        untrusted 0\ninsert_failed 0\nopp_dropped 1\nstale_removed 0\ngso 0\n\
        format_ipv4_option 4\nformat_opp 1\nformat_bytedance_option 0\n\
        format_bytedance_vni_option 0\nformat_bytedance_opp 0\n\
        format_bytedance_dstopt 0\nformat_bytedance_vni_dstopt 0\n\
        format_huawei_dstopt 0\ntable_bytes_ipv4 4096\ntable_bytes_ipv6 2048\n\
        mapping_bytes_ipv4 64\nmapping_bytes_ipv6 96\n";

    /// The stats of [`DPVS`] and [`EXTRA`].
    pub(crate) fn sample() -> Stats {
        let mut counters = parse_dpvs(DPVS).unwrap();
        counters.extend(parse_extra(EXTRA));
        Stats { counters }
    }

    #[test]
    fn dpvs_columns() {
        let counters = parse_dpvs(DPVS).unwrap();
        let values: Vec<u64> = counters.iter().map(|c| c.value).collect();
        assert_eq!(values, [3, 1, 0, 5, 10, 4, 0]);
        assert_eq!(counters[0].name, "lookup_success");
        assert_eq!(counters[6].name, "ack_fail");
    }

    #[test]
    fn bad_dpvs() {
        assert!(parse_dpvs("").is_err());
        assert!(parse_dpvs("header\n1 2 3\n").is_err());
        assert!(parse_dpvs("header\n1 2 3 4 5 6 x\n").is_err());
        assert!(parse_dpvs("header\n1 2 3 4 5 6 7 8\n").is_err());
    }

    #[test]
    fn extra_keeps_order_and_unknown_names() {
        let counters = parse_extra("b 2\nnew_counter 7\na 1\n");
        let names: Vec<&str> = counters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["b", "new_counter", "a"]);
        assert_eq!(counters[1].value, 7);
        assert_eq!(parse_extra(EXTRA).len(), 24);
    }

    #[test]
    fn extra_skips_odd_lines() {
        let counters =
            parse_extra("good 1\n\nbad x\nthree fields 3\nalone\nlast 18446744073709551615\n");
        let names: Vec<&str> = counters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["good", "last"]);
        assert_eq!(counters[1].value, u64::MAX);
    }

    #[test]
    fn gauges() {
        for name in [
            "mappings_ipv4",
            "mappings_ipv6",
            "mappings_max",
            "table_bytes_ipv4",
            "mapping_bytes_ipv6",
        ] {
            assert!(is_gauge(name), "{name}");
        }
        for name in ["uoa_saved", "map_full", "format_opp", "malformed"] {
            assert!(!is_gauge(name), "{name}");
        }
    }

    #[test]
    fn deltas() {
        assert_eq!(counter_delta(5, 8), 3);
        assert_eq!(counter_delta(8, 8), 0);
        // Reset: the new value, never a negative.
        assert_eq!(counter_delta(100, 7), 7);
        assert_eq!(counter_delta(u64::MAX, 2), 2);
    }

    #[test]
    fn rates_per_second() {
        let previous = sample();
        let mut current = sample();
        for c in &mut current.counters {
            match c.name.as_str() {
                "lookup_success" => c.value += 20,
                "mappings_ipv4" => c.value = 9,
                "malformed" => c.value = 1, // went down: reset
                _ => {}
            }
        }
        current.counters.push(Counter {
            name: "brand_new".to_owned(),
            value: 4,
        });
        let rates = rates(&previous, &current, Duration::from_secs(2));
        let rate = |name: &str| rates.iter().find(|r| r.name == name).unwrap().clone();
        assert_eq!(rate("lookup_success").value, 10.0);
        assert_eq!(rate("lookup_miss").value, 0.0);
        assert_eq!(rate("malformed").value, 0.5);
        assert_eq!(rate("brand_new").value, 2.0);
        let mappings = rate("mappings_ipv4");
        assert!(mappings.gauge);
        assert_eq!(mappings.value, 9.0);
        assert_eq!(rate("mappings_max").value, 1048576.0);
    }

    #[test]
    fn plain() {
        let text = render_plain(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 31);
        assert_eq!(lines[0], "lookup_success 3");
        assert_eq!(lines[6], "ack_fail 0");
        assert_eq!(lines[7], "malformed 2");
        assert_eq!(lines[30], "mapping_bytes_ipv6 96");
    }
}
