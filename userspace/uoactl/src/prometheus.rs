// SPDX-License-Identifier: GPL-2.0
//! The counters in Prometheus' text format, for node_exporter's textfile
//! collector.
//!
//! | value (file)                         | metric                                              | type    |
//! |--------------------------------------|-----------------------------------------------------|---------|
//! | lookup_success, _miss, _invalid      | `uoa_lookups_total{result="success"\|"miss"\|"invalid"}` | counter |
//! | uoa_got, uoa_none                    | `uoa_packets_total{uoa="present"\|"absent"}`         | counter |
//! | uoa_saved                            | `uoa_mappings_saved_total`                          | counter |
//! | ack_fail                             | not exported (always 0)                             |         |
//! | malformed                            | `uoa_malformed_packets_total`                       | counter |
//! | fragments                            | `uoa_fragments_total`                               | counter |
//! | strip_failed                         | `uoa_strip_failures_total`                          | counter |
//! | map_full                             | `uoa_map_full_total`                                | counter |
//! | untrusted                            | `uoa_untrusted_packets_total`                       | counter |
//! | insert_failed                        | `uoa_insert_failures_total`                         | counter |
//! | opp_dropped                          | `uoa_opp_dropped_packets_total`                     | counter |
//! | stale_removed                        | `uoa_stale_mappings_removed_total`                  | counter |
//! | gso                                  | `uoa_gso_packets_total`                             | counter |
//! | format_NAME                          | `uoa_format_packets_total{format="NAME"}`           | counter |
//! | mappings_FAMILY                      | `uoa_mappings{family="FAMILY"}`                     | gauge   |
//! | mappings_max                         | `uoa_mappings_max`                                  | gauge   |
//! | table_bytes_FAMILY                   | `uoa_table_bytes{family="FAMILY"}`                  | gauge   |
//! | mapping_bytes_FAMILY                 | `uoa_mapping_size_bytes{family="FAMILY"}`           | gauge   |
//! | any other NAME                       | `uoa_extra_NAME` (invalid characters as `_`)        | untyped |
//!
//! With `--netns NAME` every sample has a `netns="NAME"` label.

use std::fmt::Write as _;

use crate::stats::{Counter, Stats};

/// A metric family's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    /// Only grows (name ends in `_total`).
    Counter,
    /// A current value.
    Gauge,
    /// Unknown to this program.
    Untyped,
}

impl MetricType {
    /// Its name in a `# TYPE` line.
    fn name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Untyped => "untyped",
        }
    }
}

/// A label and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// The label's name.
    pub name: String,
    /// Its value (unescaped).
    pub value: String,
}

/// One sample of a family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Its labels, in order.
    pub labels: Vec<Label>,
    /// Its value.
    pub value: u64,
}

/// A metric family: HELP and TYPE, then its samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Family {
    /// The metric name.
    pub name: String,
    /// Its type.
    pub kind: MetricType,
    /// Its help text.
    pub help: String,
    /// Its samples.
    pub samples: Vec<Sample>,
}

/// Where one value of the module goes.
struct Placement {
    family: String,
    kind: MetricType,
    help: String,
    label: Option<Label>,
}

impl Placement {
    fn new(family: &str, kind: MetricType, help: &str) -> Self {
        Self {
            family: family.to_owned(),
            kind,
            help: help.to_owned(),
            label: None,
        }
    }

    fn with_label(mut self, name: &str, value: &str) -> Self {
        self.label = Some(Label {
            name: name.to_owned(),
            value: value.to_owned(),
        });
        self
    }
}

const LOOKUPS_HELP: &str = "Lookups of a real client through the socket option, by result.";
const PACKETS_HELP: &str = "UDP packets seen by the module, by whether they carried a valid UOA.";
const FORMAT_HELP: &str = "Packets with a valid UOA, by its wire format.";
const MAPPINGS_HELP: &str = "Mappings held now, by address family.";
const TABLE_HELP: &str = "Kernel memory of the mapping hash tables, by address family.";
const MAPPING_SIZE_HELP: &str = "Kernel memory of one mapping, by address family.";

/// Where the value named `name` goes; `None` for those not exported.
fn place(name: &str) -> Option<Placement> {
    use MetricType::{Counter, Gauge};
    let simple = |family: &str, help: &str| Some(Placement::new(family, Counter, help));
    match name {
        "lookup_success" => lookups("success"),
        "lookup_miss" => lookups("miss"),
        "lookup_invalid" => lookups("invalid"),
        "uoa_got" => packets("present"),
        "uoa_none" => packets("absent"),
        "uoa_saved" => simple("uoa_mappings_saved_total", "Mappings stored."),
        "ack_fail" => None,
        "malformed" => simple(
            "uoa_malformed_packets_total",
            "Packets whose UOA or opp header is malformed (nothing stored).",
        ),
        "fragments" => simple("uoa_fragments_total", "Fragments left alone."),
        "strip_failed" => simple(
            "uoa_strip_failures_total",
            "opp headers that could not be removed.",
        ),
        "map_full" => simple(
            "uoa_map_full_total",
            "New flows not stored because the namespace holds the maximum of mappings.",
        ),
        "untrusted" => simple(
            "uoa_untrusted_packets_total",
            "UOAs from an untrusted source (nothing stored).",
        ),
        "insert_failed" => simple(
            "uoa_insert_failures_total",
            "Mappings not stored for want of memory or a full chain.",
        ),
        "opp_dropped" => simple(
            "uoa_opp_dropped_packets_total",
            "opp packets dropped: malformed, or their header could not be removed.",
        ),
        "stale_removed" => simple(
            "uoa_stale_mappings_removed_total",
            "Mappings removed because their flow's new client could not be stored.",
        ),
        "gso" => simple(
            "uoa_gso_packets_total",
            "GSO packets with a UOA, not inspected.",
        ),
        "mappings_max" => Some(Placement::new(
            "uoa_mappings_max",
            Gauge,
            "Most mappings the namespace may hold.",
        )),
        _ => place_by_prefix(name),
    }
}

/// Where the values named by a pattern go: `format_*` and the gauges by
/// family; anything else is untyped.
fn place_by_prefix(name: &str) -> Option<Placement> {
    use MetricType::{Counter, Gauge};
    let by_prefix: [(&str, &str, MetricType, &str, &str); 4] = [
        (
            "format_",
            "uoa_format_packets_total",
            Counter,
            FORMAT_HELP,
            "format",
        ),
        ("mappings_", "uoa_mappings", Gauge, MAPPINGS_HELP, "family"),
        (
            "table_bytes_",
            "uoa_table_bytes",
            Gauge,
            TABLE_HELP,
            "family",
        ),
        (
            "mapping_bytes_",
            "uoa_mapping_size_bytes",
            Gauge,
            MAPPING_SIZE_HELP,
            "family",
        ),
    ];
    for (prefix, family, kind, help, label) in by_prefix {
        if let Some(value) = name.strip_prefix(prefix).filter(|v| !v.is_empty()) {
            return Some(Placement::new(family, kind, help).with_label(label, value));
        }
    }
    Some(Placement::new(
        &format!("uoa_extra_{}", sanitize(name)),
        MetricType::Untyped,
        &format!("Value {name} of uoa_stats_extra, unknown to this uoactl."),
    ))
}

fn lookups(result: &str) -> Option<Placement> {
    Some(
        Placement::new("uoa_lookups_total", MetricType::Counter, LOOKUPS_HELP)
            .with_label("result", result),
    )
}

fn packets(uoa: &str) -> Option<Placement> {
    Some(
        Placement::new("uoa_packets_total", MetricType::Counter, PACKETS_HELP)
            .with_label("uoa", uoa),
    )
}

/// `name` with every character a metric name may not have as `_`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The families of `stats`, in the order their first value appears. A
/// `netns` label comes first in every sample when given.
pub fn families(stats: &Stats, netns: Option<&str>) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    for counter in &stats.counters {
        if let Some(placement) = place(&counter.name) {
            add_sample(&mut families, placement, counter, netns);
        }
    }
    families
}

/// Adds `counter` to its family, creating the family if needed. A sample
/// with the same labels as one already there (two unknown names that
/// sanitise alike) is dropped: a family may not repeat a sample.
fn add_sample(
    families: &mut Vec<Family>,
    placement: Placement,
    counter: &Counter,
    netns: Option<&str>,
) {
    let mut labels = Vec::new();
    if let Some(ns) = netns {
        labels.push(Label {
            name: "netns".to_owned(),
            value: ns.to_owned(),
        });
    }
    labels.extend(placement.label);
    let sample = Sample {
        labels,
        value: counter.value,
    };
    match families.iter_mut().find(|f| f.name == placement.family) {
        Some(family) => {
            if family.samples.iter().all(|s| s.labels != sample.labels) {
                family.samples.push(sample);
            }
        }
        None => families.push(Family {
            name: placement.family,
            kind: placement.kind,
            help: placement.help,
            samples: vec![sample],
        }),
    }
}

/// The text exposition of `stats`.
pub fn render(stats: &Stats, netns: Option<&str>) -> String {
    let mut out = String::new();
    for family in families(stats, netns) {
        let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(&family.help));
        let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind.name());
        for sample in &family.samples {
            out.push_str(&family.name);
            out.push_str(&render_labels(&sample.labels));
            let _ = writeln!(out, " {}", sample.value);
        }
    }
    out
}

/// `{a="x",b="y"}`, or nothing without labels.
fn render_labels(labels: &[Label]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels
        .iter()
        .map(|l| format!("{}=\"{}\"", l.name, escape_label_value(&l.value)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// A label value with `\`, `"` and newlines escaped.
fn escape_label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A help text with `\` and newlines escaped.
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::tests::sample;
    use std::collections::HashMap;

    fn is_metric_name(name: &str) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }

    fn is_label_name(name: &str) -> bool {
        is_metric_name(name) && !name.contains(':')
    }

    /// Checks the exposition's rules; returns the samples by `name{labels}`.
    fn validate(text: &str) -> HashMap<String, u64> {
        let mut help = HashMap::new();
        let mut types: HashMap<String, String> = HashMap::new();
        let mut samples = HashMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap();
                assert!(is_metric_name(name), "{line}");
                assert!(
                    help.insert(name.to_owned(), ()).is_none(),
                    "HELP twice: {line}"
                );
                assert!(!types.contains_key(name), "HELP after TYPE: {line}");
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(help.contains_key(name), "TYPE before HELP: {line}");
                assert!(["counter", "gauge", "untyped"].contains(&kind), "{line}");
                assert!(
                    types.insert(name.to_owned(), kind.to_owned()).is_none(),
                    "{line}"
                );
            } else {
                let (series, value) = line.rsplit_once(' ').unwrap();
                let value: u64 = value.parse().unwrap();
                let name = series.split('{').next().unwrap();
                assert!(is_metric_name(name), "{line}");
                let kind = types.get(name).unwrap_or_else(|| panic!("no TYPE: {line}"));
                if kind == "counter" {
                    assert!(name.ends_with("_total"), "{line}");
                }
                if let Some(labels) = series.strip_prefix(name) {
                    if !labels.is_empty() {
                        let inner = labels.strip_prefix('{').unwrap().strip_suffix('}').unwrap();
                        for pair in inner.split(',') {
                            let (label, quoted) = pair.split_once('=').unwrap();
                            assert!(is_label_name(label), "{line}");
                            assert!(quoted.starts_with('"') && quoted.ends_with('"'), "{line}");
                        }
                    }
                }
                assert!(
                    samples.insert(series.to_owned(), value).is_none(),
                    "twice: {line}"
                );
            }
        }
        samples
    }

    #[test]
    fn renders_valid_exposition() {
        let text = render(&sample(), None);
        let samples = validate(&text);
        assert_eq!(samples["uoa_lookups_total{result=\"success\"}"], 3);
        assert_eq!(samples["uoa_lookups_total{result=\"miss\"}"], 1);
        assert_eq!(samples["uoa_lookups_total{result=\"invalid\"}"], 0);
        assert_eq!(samples["uoa_packets_total{uoa=\"present\"}"], 5);
        assert_eq!(samples["uoa_packets_total{uoa=\"absent\"}"], 10);
        assert_eq!(samples["uoa_mappings_saved_total"], 4);
        assert_eq!(samples["uoa_malformed_packets_total"], 2);
        assert_eq!(samples["uoa_opp_dropped_packets_total"], 1);
        assert_eq!(
            samples["uoa_format_packets_total{format=\"ipv4_option\"}"],
            4
        );
        assert_eq!(
            samples["uoa_format_packets_total{format=\"huawei_dstopt\"}"],
            0
        );
        assert_eq!(samples["uoa_mappings{family=\"ipv4\"}"], 3);
        assert_eq!(samples["uoa_mappings{family=\"ipv6\"}"], 1);
        assert_eq!(samples["uoa_mappings_max"], 1048576);
        assert_eq!(samples["uoa_table_bytes{family=\"ipv4\"}"], 4096);
        assert_eq!(samples["uoa_mapping_size_bytes{family=\"ipv6\"}"], 96);
        assert!(!text.contains("ack_fail"));
        assert!(text.contains("# TYPE uoa_mappings gauge\n"));
        assert!(text.contains("# TYPE uoa_lookups_total counter\n"));
        // 30 values exported (ack_fail is not), in 17 families.
        assert_eq!(samples.len(), 30);
        assert_eq!(text.matches("# HELP ").count(), 17);
    }

    #[test]
    fn netns_label_on_every_sample() {
        let text = render(&sample(), Some("lb\"1"));
        let samples = validate(&text);
        assert!(samples.keys().all(|k| k.contains("netns=\"lb\\\"1\"")));
        assert_eq!(samples["uoa_mappings_max{netns=\"lb\\\"1\"}"], 1048576);
        assert_eq!(
            samples["uoa_lookups_total{netns=\"lb\\\"1\",result=\"success\"}"],
            3
        );
    }

    #[test]
    fn unknown_values_are_untyped() {
        let mut stats = sample();
        for (name, value) in [("new-thing", 5), ("new_thing", 6), ("format_quic", 2)] {
            stats.counters.push(Counter {
                name: name.to_owned(),
                value,
            });
        }
        let text = render(&stats, None);
        let samples = validate(&text);
        assert!(text.contains("# TYPE uoa_extra_new_thing untyped\n"));
        // Two names that sanitise alike: the first one stays.
        assert_eq!(samples["uoa_extra_new_thing"], 5);
        assert_eq!(samples["uoa_format_packets_total{format=\"quic\"}"], 2);
    }

    #[test]
    fn families_are_contiguous() {
        // Values of one family apart in the file still render together.
        let stats = Stats {
            counters: vec![
                Counter {
                    name: "format_opp".into(),
                    value: 1,
                },
                Counter {
                    name: "gso".into(),
                    value: 2,
                },
                Counter {
                    name: "format_ipv4_option".into(),
                    value: 3,
                },
            ],
        };
        let text = render(&stats, None);
        validate(&text);
        let fams = families(&stats, None);
        assert_eq!(fams.len(), 2);
        assert_eq!(fams[0].samples.len(), 2);
    }

    #[test]
    fn empty_stats_render_nothing() {
        assert_eq!(render(&Stats::default(), None), "");
    }
}
