//! The checks block at the top of TOTAL RESULTS: the totals, then one line per check.

use std::collections::BTreeMap;

use stampede_metrics::{MetricType, ValueType};

use crate::jsnum::js_string;
use crate::model::{CheckSummary, GroupSummary, MetricSummary, SummaryData};
use crate::style::Color;

use super::layout::{Ctx, Layout};
use super::Item;

/// The checks block of TOTAL RESULTS, or nothing when no check ran (no `checks` metric).
pub(super) fn checks_block(data: &SummaryData, ctx: Ctx<'_>) -> Vec<Item> {
    block(
        data.metric("checks"),
        &flat_checks(data),
        seconds(data),
        4,
        ctx,
    )
}

/// The test run's length in seconds (rates are per second of it).
pub(super) fn seconds(data: &SummaryData) -> f64 {
    data.test_run_duration.as_nanos() as f64 / 1e9
}

/// The totals derived from the `checks` rate, then a line per check, indented by `indent`.
pub(super) fn block(
    checks: Option<&MetricSummary>,
    list: &[CheckSummary],
    seconds: f64,
    indent: usize,
    ctx: Ctx<'_>,
) -> Vec<Item> {
    let Some(checks) = checks else {
        return Vec::new();
    };
    let totals = totals(checks, seconds);
    let layout = Layout::new(&totals, indent, ctx);
    let mut items: Vec<Item> = totals
        .iter()
        .map(|m| Item::Line(layout.line(m, indent, ctx)))
        .collect();
    items.push(Item::Blank);
    for check in list {
        items.push(Item::Line(check_line(check, indent, ctx)));
    }
    items.push(Item::Blank);
    items
}

/// `checks_total`, `checks_succeeded` and `checks_failed`, derived from the `checks` rate.
fn totals(checks: &MetricSummary, seconds: f64) -> [MetricSummary; 3] {
    let passes = checks.value("passes");
    let total = passes + checks.value("fails");
    let metric = |name: &str, kind, values: &[(&str, f64)]| MetricSummary {
        name: name.to_owned(),
        kind,
        contains: ValueType::Default,
        values: values.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        thresholds: Vec::new(),
    };
    let rate = if seconds == 0.0 { 0.0 } else { total / seconds };
    [
        metric(
            "checks_total",
            MetricType::Counter,
            &[("count", total), ("rate", rate)],
        ),
        MetricSummary {
            name: "checks_succeeded".to_owned(),
            ..checks.clone()
        },
        // k6 fills `checks_failed` inverted on purpose: its passes are the failures.
        metric(
            "checks_failed",
            MetricType::Rate,
            &[
                ("passes", total - passes),
                ("fails", passes),
                ("rate", (total - passes) / total),
            ],
        ),
    ]
}

/// Every check once, by name, in the order the run first saw it (group paths do not matter in
/// the compact summary: the same name in two groups is one line with the counts added up).
fn flat_checks(data: &SummaryData) -> Vec<CheckSummary> {
    let mut in_tree = Vec::new();
    collect(&data.root_group, &mut in_tree);
    let mut order: Vec<&str> = Vec::new();
    for name in data
        .check_order
        .iter()
        .map(String::as_str)
        .chain(in_tree.iter().map(|c| c.name.as_str()))
    {
        if !order.contains(&name) {
            order.push(name);
        }
    }
    let mut sums: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for c in &in_tree {
        let sum = sums.entry(c.name.as_str()).or_default();
        sum.0 += c.passes;
        sum.1 += c.fails;
    }
    order
        .into_iter()
        .filter_map(|name| {
            sums.get(name).map(|(passes, fails)| CheckSummary {
                name: name.to_owned(),
                group_path: String::new(),
                passes: *passes,
                fails: *fails,
            })
        })
        .collect()
}

fn collect<'a>(group: &'a GroupSummary, out: &mut Vec<&'a CheckSummary>) {
    out.extend(group.checks.iter());
    for g in &group.groups {
        collect(g, out);
    }
}

/// `✓ name`, or `✗ name` plus a line with the success percentage and counts.
fn check_line(check: &CheckSummary, indent_by: usize, ctx: Ctx<'_>) -> String {
    let indent = " ".repeat(indent_by);
    // k6 indents the detail twice as far, less two: 6 under a check at 4, 10 under one at 6.
    let detail_indent = " ".repeat((2 * indent_by).saturating_sub(2));
    if check.fails == 0 {
        return format!(
            "{indent}{}",
            ctx.style.paint(&format!("✓ {}", check.name), Color::Green)
        );
    }
    let passes = check.passes as f64;
    let pct = (100.0 * passes / (passes + check.fails as f64)).floor();
    let name = ctx.style.paint(&format!("✗ {}", check.name), Color::Red);
    let detail = format!(
        "↳  {}% — ✓ {} / ✗ {}",
        js_string(pct),
        check.passes,
        check.fails
    );
    let detail = ctx.style.paint(&detail, Color::Red);
    format!("{indent}{name}\n{detail_indent}{detail}")
}
