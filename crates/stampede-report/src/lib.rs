//! End-of-test reports: k6's text summary, `--summary-export` JSON, the data object
//! `handleSummary(data)` receives, and JUnit XML. Everything renders from one [`SummaryData`],
//! built by the binary from the merged metrics; the banner k6 prints before a run is here too.
//!
//! Where to start:
//!
//! * [`render_text`] is k6 v1.1.0's default (compact) summary, byte for byte; the width and
//!   padding rules are described in `src/text/layout.rs`.
//! * [`handle_summary_data`] and [`summary_export`] are the two JSON shapes.
//! * [`render_banner`] is the header printed before the run.
//!
//! Every output is checked against real k6 v1.1.0 runs saved in `tests/fixtures/`
//! (`capture.sh` there re-records them).
//!
//! How k6 places these on stdout (not a terminal): the banner, then one progress block per
//! second (`\nrunning (01.0s), …\ndefault   [  33% ] …\n`), then the summary, then a last
//! progress block. `-q` drops the banner and all progress blocks; `--no-summary` drops the
//! summary; `-q --no-summary` prints nothing.

mod banner;
mod collate;
mod html;
mod humanize;
mod jsnum;
mod json;
mod junit;
mod model;
mod run_report;
mod style;
mod text;

pub use banner::{go_duration, render_banner, render_banner_tty};
pub use html::{dashboard_html, render_report};
pub use humanize::{humanize_bytes, humanize_duration, humanize_value};
pub use json::{handle_summary_data, summary_export, summary_export_string};
pub use junit::{junit_report, junit_xml, junit_xml_named};
pub use model::{
    CheckSummary, GroupSummary, MetricSummary, SummaryData, SummarySection, ThresholdResult,
    DEFAULT_TREND_STATS,
};
pub use run_report::{ReportBuilder, RunMeta, REPORT_TAGS};
pub use style::clear_line_ends;
pub use text::{render_legacy_text, render_text};
