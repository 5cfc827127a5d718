//! The metric sections of TOTAL RESULTS: which metric goes where, in which order.

use crate::collate::metric_name_cmp;
use crate::model::MetricSummary;

use super::layout::{Ctx, Layout};
use super::Item;

/// k6's summary sections, in the order they are printed (CUSTOM first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Custom,
    Http,
    Execution,
    Network,
    Browser,
    WebVitals,
    Grpc,
    WebSocket,
}

impl Section {
    const ALL: [Section; 8] = [
        Section::Custom,
        Section::Http,
        Section::Execution,
        Section::Network,
        Section::Browser,
        Section::WebVitals,
        Section::Grpc,
        Section::WebSocket,
    ];

    fn title(self) -> &'static str {
        match self {
            Section::Custom => "CUSTOM",
            Section::Http => "HTTP",
            Section::Execution => "EXECUTION",
            Section::Network => "NETWORK",
            Section::Browser => "BROWSER",
            Section::WebVitals => "WEB_VITALS",
            Section::Grpc => "GRPC",
            Section::WebSocket => "WEBSOCKET",
        }
    }
}

/// Metrics the compact summary leaves out: the check and group metrics (shown otherwise or not
/// at all) and the HTTP timing breakdown.
const HIDDEN: [&str; 8] = [
    "checks",
    "group_duration",
    "http_req_blocked",
    "http_req_connecting",
    "http_req_receiving",
    "http_req_sending",
    "http_req_tls_handshaking",
    "http_req_waiting",
];
const HTTP: [&str; 9] = [
    "http_reqs",
    "http_req_failed",
    "http_req_duration",
    "http_req_blocked",
    "http_req_connecting",
    "http_req_tls_handshaking",
    "http_req_sending",
    "http_req_waiting",
    "http_req_receiving",
];
const EXECUTION: [&str; 5] = [
    "vus",
    "vus_max",
    "iterations",
    "iteration_duration",
    "dropped_iterations",
];
const NETWORK: [&str; 2] = ["data_sent", "data_received"];

/// k6 matches these lists by prefix, so sub-metrics follow their metric, and so does any
/// custom metric whose name starts like a built-in one (`iterations_custom` is EXECUTION,
/// `checks_custom` is not shown at all).
fn starts_with_any(name: &str, list: &[&str]) -> bool {
    list.iter().any(|p| name.starts_with(p))
}

/// The section `name` belongs to, or `None` if the summary hides it: the full summary shows
/// the HTTP timing breakdown the compact one leaves out.
pub(super) fn section_of(name: &str, full: bool) -> Option<Section> {
    let web_vital = name.starts_with("browser_web_vital_");
    let hidden = if full { &HIDDEN[..2] } else { &HIDDEN[..] };
    if starts_with_any(name, hidden) {
        None
    } else if starts_with_any(name, &HTTP) {
        Some(Section::Http)
    } else if starts_with_any(name, &EXECUTION) {
        Some(Section::Execution)
    } else if starts_with_any(name, &NETWORK) {
        Some(Section::Network)
    } else if name.starts_with("browser_") && !web_vital {
        Some(Section::Browser)
    } else if name.starts_with("grpc_") {
        Some(Section::Grpc)
    } else if name.starts_with("ws_") {
        Some(Section::WebSocket)
    } else if web_vital {
        Some(Section::WebVitals)
    } else {
        Some(Section::Custom)
    }
}

/// The metric sections: a bold title, the sorted metric lines, a blank line; empty sections
/// are left out. One [`Layout`] spans all sections, so columns line up across them.
pub(super) fn metric_sections(
    metrics: &[MetricSummary],
    indent: usize,
    full: bool,
    ctx: Ctx<'_>,
) -> Vec<Item> {
    let shown: Vec<(Section, &MetricSummary)> = metrics
        .iter()
        .filter_map(|m| section_of(&m.name, full).map(|s| (s, m)))
        .collect();
    let layout = Layout::new(shown.iter().map(|(_, m)| *m), indent, ctx);
    let mut items = Vec::new();
    for section in Section::ALL {
        let mut in_section: Vec<&MetricSummary> = shown
            .iter()
            .filter(|(s, _)| *s == section)
            .map(|(_, m)| *m)
            .collect();
        if in_section.is_empty() {
            continue;
        }
        in_section.sort_by(|a, b| metric_name_cmp(&a.name, &b.name));
        let title = ctx.style.bold(section.title());
        items.push(Item::Line(format!("{}{title}", " ".repeat(indent))));
        for m in in_section {
            items.push(Item::Line(layout.line(m, indent, ctx)));
        }
        items.push(Item::Blank);
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_by_prefix() {
        let compact = |n| section_of(n, false);
        assert_eq!(
            compact("http_req_duration{status:200}"),
            Some(Section::Http)
        );
        assert_eq!(compact("http_req_waiting"), None);
        assert_eq!(section_of("http_req_waiting", true), Some(Section::Http));
        assert_eq!(section_of("group_duration", true), None);
        assert_eq!(compact("checks"), None);
        assert_eq!(compact("checks_custom"), None);
        assert_eq!(compact("vus_custom"), Some(Section::Execution));
        assert_eq!(compact("browser_web_vital_lcp"), Some(Section::WebVitals));
        assert_eq!(compact("browser_data_sent"), Some(Section::Browser));
        assert_eq!(compact("ws_sessions"), Some(Section::WebSocket));
        assert_eq!(compact("grpc_req_duration"), Some(Section::Grpc));
        assert_eq!(compact("my_counter"), Some(Section::Custom));
    }
}
