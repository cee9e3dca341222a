// SPDX-License-Identifier: GPL-2.0
//! `uoactl stats --watch`: a line of rates per interval, like `vmstat 1`.

use std::time::Duration;

use crate::stats::{rates, Rate, Stats};

/// Lines between two headers.
pub const HEADER_EVERY: u64 = 20;

/// Width of a column.
const WIDTH: usize = 11;

/// What a column shows.
enum ColumnValue {
    /// The per-second rate of a counter.
    Rate(&'static str),
    /// The sum of gauges.
    Gauges(&'static [&'static str]),
}

/// A column of the table.
struct Column {
    header: &'static str,
    value: ColumnValue,
}

/// The columns, left to right.
const COLUMNS: [Column; 9] = [
    Column {
        header: "success/s",
        value: ColumnValue::Rate("lookup_success"),
    },
    Column {
        header: "miss/s",
        value: ColumnValue::Rate("lookup_miss"),
    },
    Column {
        header: "invalid/s",
        value: ColumnValue::Rate("lookup_invalid"),
    },
    Column {
        header: "got/s",
        value: ColumnValue::Rate("uoa_got"),
    },
    Column {
        header: "none/s",
        value: ColumnValue::Rate("uoa_none"),
    },
    Column {
        header: "saved/s",
        value: ColumnValue::Rate("uoa_saved"),
    },
    Column {
        header: "malformed/s",
        value: ColumnValue::Rate("malformed"),
    },
    Column {
        header: "full/s",
        value: ColumnValue::Rate("map_full"),
    },
    Column {
        header: "mappings",
        value: ColumnValue::Gauges(&["mappings_ipv4", "mappings_ipv6"]),
    },
];

/// The header line.
pub fn header() -> String {
    let cells: Vec<String> = COLUMNS
        .iter()
        .map(|c| format!("{:>WIDTH$}", c.header))
        .collect();
    cells.join(" ")
}

/// The line for the interval from `previous` to `current`, `elapsed`
/// apart. A value the module does not have shows as `-`.
pub fn row(previous: &Stats, current: &Stats, elapsed: Duration) -> String {
    let rates = rates(previous, current, elapsed);
    let cells: Vec<String> = COLUMNS
        .iter()
        .map(|c| format!("{:>WIDTH$}", cell(&c.value, &rates)))
        .collect();
    cells.join(" ")
}

/// One cell's text.
fn cell(value: &ColumnValue, rates: &[Rate]) -> String {
    let find = |name: &str| rates.iter().find(|r| r.name == name).map(|r| r.value);
    match value {
        ColumnValue::Rate(name) => match find(name) {
            Some(rate) => format!("{rate:.1}"),
            None => "-".to_owned(),
        },
        ColumnValue::Gauges(names) => {
            let values: Vec<f64> = names.iter().filter_map(|n| find(n)).collect();
            if values.is_empty() {
                "-".to_owned()
            } else {
                format!("{}", values.iter().sum::<f64>() as u64)
            }
        }
    }
}

/// Whether the line numbered `line` (from 0) is preceded by a header.
pub fn needs_header(line: u64) -> bool {
    line % HEADER_EVERY == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::tests::sample;
    use crate::stats::Counter;

    #[test]
    fn header_and_row_align() {
        let previous = sample();
        let mut current = sample();
        for c in &mut current.counters {
            if c.name == "uoa_got" {
                c.value += 3;
            }
        }
        let head = header();
        let line = row(&previous, &current, Duration::from_secs(2));
        assert_eq!(head.len(), line.len());
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            fields,
            ["0.0", "0.0", "0.0", "1.5", "0.0", "0.0", "0.0", "0.0", "4"]
        );
        assert!(head.trim_start().starts_with("success/s"));
    }

    #[test]
    fn missing_values_show_a_dash() {
        // DPVS's own module has no uoa_stats_extra.
        let dpvs_only = Stats {
            counters: sample().counters.into_iter().take(7).collect(),
        };
        let line = row(&dpvs_only, &dpvs_only, Duration::from_secs(1));
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[6..], ["-", "-", "-"]);
    }

    #[test]
    fn reset_counter_is_not_negative() {
        let previous = Stats {
            counters: vec![Counter {
                name: "lookup_success".into(),
                value: 1000,
            }],
        };
        let current = Stats {
            counters: vec![Counter {
                name: "lookup_success".into(),
                value: 10,
            }],
        };
        let line = row(&previous, &current, Duration::from_secs(1));
        assert_eq!(line.split_whitespace().next(), Some("10.0"));
    }

    #[test]
    fn header_every_twenty_lines() {
        assert!(needs_header(0));
        assert!(!needs_header(1));
        assert!(!needs_header(19));
        assert!(needs_header(20));
    }
}
