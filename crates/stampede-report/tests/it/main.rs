//! Compares every report with what real k6 v1.1.0 produced for the same run.
//!
//! Each fixture under `tests/fixtures/` comes from one k6 run of `NAME.js` (see `capture.sh`):
//! the summary k6 printed (`NAME.txt`), the object its `handleSummary` received
//! (`NAME.data.json`) and its `--summary-export` file (`NAME.export.json`). The tests rebuild a
//! [`stampede_report::SummaryData`] from the handleSummary object and check that each renderer
//! gives back what k6 wrote.

// Tests may panic on malformed fixtures.
#![allow(clippy::unwrap_used)]

mod banner;
mod html;
mod json;
mod junit;
mod support;
mod text;
