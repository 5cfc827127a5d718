//! The THRESHOLDS section: each metric with thresholds, then one `✓`/`✗` line per expression
//! with the value it read (`✓ 'p(95)<500' p(95)=2.04ms`).

use stampede_metrics::MetricType;

use crate::collate::{metric_name_cmp, split_submetric};
use crate::model::{MetricSummary, SummaryData, ThresholdResult};
use crate::style::Color;

use super::layout::{non_trend_values, trend_value, Ctx};
use super::Item;

const INDENT: usize = 4;

/// The section's content; empty when no metric has thresholds.
pub(super) fn threshold_lines(data: &SummaryData, ctx: Ctx<'_>) -> Vec<Item> {
    let mut metrics: Vec<&MetricSummary> = data
        .metrics
        .iter()
        .filter(|m| !m.thresholds.is_empty())
        .collect();
    metrics.sort_by(|a, b| metric_name_cmp(&a.name, &b.name));
    let mut items = Vec::new();
    for m in &metrics {
        let (parent, selector) = split_submetric(&m.name);
        let nested = !selector.is_empty() && metrics.iter().any(|p| p.name == parent);
        // A sub-metric under its metric shows only its selector, one level deeper.
        let (indent, label) = if nested {
            (INDENT + 2, selector)
        } else {
            (INDENT, m.name.as_str())
        };
        let pad = " ".repeat(indent);
        items.push(Item::Line(format!("{pad}{label}")));
        for t in &m.thresholds {
            items.push(Item::Line(format!("{pad}{}", threshold_line(m, t, ctx))));
        }
        items.push(Item::Blank);
    }
    items
}

fn threshold_line(m: &MetricSummary, t: &ThresholdResult, ctx: Ctx<'_>) -> String {
    let style = ctx.style;
    let status = if t.ok {
        style.paint("✓", Color::Green)
    } else {
        style.paint("✗", Color::Red)
    };
    let source = style.paint(&format!("'{}'", t.source.trim()), Color::White);
    let agg = aggregation(&t.source);
    // k6 prints nothing after `=` when it has no value for the aggregation (JavaScript's
    // `undefined` in an array join), but the word `undefined` when it colours it.
    let value = match observed(m, t, agg, ctx) {
        Some(v) => style.paint(&v, Color::Cyan),
        None if style.colors => style.paint("undefined", Color::Cyan),
        None => String::new(),
    };
    format!(
        "{status} {source} {}={value}",
        style.paint(agg, Color::White)
    )
}

/// The aggregation a threshold reads: what comes before its operator, trimmed (`p(95)`).
fn aggregation(source: &str) -> &str {
    source
        .split(['=', '>', '<'])
        .next()
        .unwrap_or_default()
        .trim()
}

/// The value shown for a threshold, formatted as in the metric's line.
fn observed(m: &MetricSummary, t: &ThresholdResult, agg: &str, ctx: Ctx<'_>) -> Option<String> {
    match m.kind {
        MetricType::Trend => {
            if ctx.trend_stats.iter().any(|s| s == agg) {
                return Some(trend_value(m, agg, m.value(agg), ctx));
            }
            // k6 adds the percentiles thresholds read to the values; other aggregations that
            // are not among the trend stats have no value.
            if is_percentile(agg) {
                let v = m.values.get(agg).copied().unwrap_or(t.observed);
                return Some(trend_value(m, agg, v, ctx));
            }
            None
        }
        MetricType::Counter => {
            let values = non_trend_values(m, ctx);
            let index = if agg == "count" { 0 } else { 1 };
            values.into_iter().nth(index)
        }
        MetricType::Gauge | MetricType::Rate => non_trend_values(m, ctx).into_iter().next(),
    }
}

/// `p(95)`, `p(99.9)`: the form k6 recognises as a percentile threshold.
fn is_percentile(agg: &str) -> bool {
    let Some(inner) = agg.strip_prefix("p(").and_then(|r| r.strip_suffix(')')) else {
        return false;
    };
    let (int, frac) = inner.split_once('.').unwrap_or((inner, "1"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(int) && digits(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregation_is_the_part_before_the_operator() {
        assert_eq!(aggregation("p(95)<500"), "p(95)");
        assert_eq!(aggregation(" med < 1000 "), "med");
        assert_eq!(aggregation("count==5"), "count");
        assert_eq!(aggregation("rate>=0.9"), "rate");
    }

    #[test]
    fn percentiles() {
        assert!(is_percentile("p(95)"));
        assert!(is_percentile("p(99.9)"));
        assert!(!is_percentile("p(x)"));
        assert!(!is_percentile("p(9.)"));
        assert!(!is_percentile("med"));
    }
}
