//! Metric lines and the column widths they share.
//!
//! k6 lays out a block of metric lines (the checks totals, or all metric sections of TOTAL
//! RESULTS together) from widths computed over the whole block:
//!
//! * the name column is `max(indent + width(name) + width(display name))` over the block, where
//!   the display name is the name itself for a metric and `  { tags }` (two spaces first) for a
//!   sub-metric. So a plain metric counts twice (`iteration_duration` makes 4 + 36 = 40) and
//!   `http_req_duration{expected_response:true}` counts 4 + 41 + 28 = 73. Each line then gets
//!   `column - width(display name) - indent + 3` dots, so the `:` lands at column + 3;
//! * each trend statistic is padded to the widest value of that statistic in the block;
//! * the first value of counters, gauges and rates is padded to the widest such value; the
//!   extras of gauges (`min=`, `max=`) are padded per position, while the single extra of
//!   counters and rates is not (it still widens the first extra column of gauges).

use std::collections::HashMap;

use stampede_metrics::MetricType;

use crate::humanize::humanize_value;
use crate::jsnum::js_string;
use crate::model::MetricSummary;
use crate::style::{str_width, Color, Style};

/// What the renderers need besides the metrics.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ctx<'a> {
    pub(super) style: Style,
    pub(super) trend_stats: &'a [String],
    pub(super) time_unit: Option<&'a str>,
}

/// One trend statistic as k6 shows it: counts as plain numbers, the rest humanized.
pub(super) fn trend_value(m: &MetricSummary, stat: &str, value: f64, ctx: Ctx<'_>) -> String {
    if stat == "count" {
        return js_string(value);
    }
    humanize_value(value, m.kind, m.contains, ctx.time_unit)
}

/// The trend statistics of `m` in `summaryTrendStats` order.
pub(super) fn trend_cols(m: &MetricSummary, ctx: Ctx<'_>) -> Vec<String> {
    ctx.trend_stats
        .iter()
        .map(|stat| trend_value(m, stat, m.value(stat), ctx))
        .collect()
}

/// A counter, gauge or rate as k6 shows it: the main value, then the extras
/// (`12.3/s`; `min=1`, `max=2`; `3 out of 4`).
pub(super) fn non_trend_values(m: &MetricSummary, ctx: Ctx<'_>) -> Vec<String> {
    let h = |stat: &str| humanize_value(m.value(stat), m.kind, m.contains, ctx.time_unit);
    match m.kind {
        MetricType::Counter => vec![h("count"), format!("{}/s", h("rate"))],
        MetricType::Gauge => vec![
            h("value"),
            format!("min={}", h("min")),
            format!("max={}", h("max")),
        ],
        MetricType::Rate => {
            let passes = m.value("passes");
            let total = passes + m.value("fails");
            vec![
                h("rate"),
                format!("{} out of {}", js_string(passes), js_string(total)),
            ]
        }
        MetricType::Trend => vec!["[no data]".to_owned()],
    }
}

/// How k6 shows a metric name in a line: `  { tags }` for a sub-metric (indented two more).
pub(super) fn display_name(name: &str) -> String {
    match name.find('{') {
        Some(i) => {
            let inner = name[i + 1..].strip_suffix('}').unwrap_or(&name[i + 1..]);
            format!("  {{ {inner} }}")
        }
        None => name.to_owned(),
    }
}

/// The widths shared by one block of metric lines.
#[derive(Debug, Default)]
pub(super) struct Layout {
    max_name_width: usize,
    trend_cols: HashMap<String, Vec<String>>,
    trend_col_max: Vec<usize>,
    values: HashMap<String, Vec<String>>,
    max_value_len: usize,
    extra_max: Vec<usize>,
}

impl Layout {
    /// Measures `metrics`, whose lines will be indented by `indent` spaces.
    pub(super) fn new<'m>(
        metrics: impl IntoIterator<Item = &'m MetricSummary>,
        indent: usize,
        ctx: Ctx<'_>,
    ) -> Layout {
        let mut layout = Layout {
            trend_col_max: vec![0; ctx.trend_stats.len()],
            ..Layout::default()
        };
        for m in metrics {
            let name_width = indent + str_width(&m.name) + str_width(&display_name(&m.name));
            layout.max_name_width = layout.max_name_width.max(name_width);
            if m.kind == MetricType::Trend {
                let cols = trend_cols(m, ctx);
                for (max, col) in layout.trend_col_max.iter_mut().zip(&cols) {
                    *max = (*max).max(str_width(col));
                }
                layout.trend_cols.insert(m.name.clone(), cols);
            } else {
                let values = non_trend_values(m, ctx);
                if let Some(main) = values.first() {
                    layout.max_value_len = layout.max_value_len.max(str_width(main));
                }
                for (i, extra) in values.iter().skip(1).enumerate() {
                    if layout.extra_max.len() <= i {
                        layout.extra_max.push(0);
                    }
                    layout.extra_max[i] = layout.extra_max[i].max(str_width(extra));
                }
                layout.values.insert(m.name.clone(), values);
            }
        }
        layout
    }

    /// The full line for `m` (measured by [`Layout::new`]), indented by `indent` spaces.
    pub(super) fn line(&self, m: &MetricSummary, indent: usize, ctx: Ctx<'_>) -> String {
        let shown = display_name(&m.name);
        let dots = (self.max_name_width + 3).saturating_sub(str_width(&shown) + indent);
        let dotted = ctx
            .style
            .faint(&format!("{}:", ".".repeat(dots)), Color::White);
        let data = if m.kind == MetricType::Trend {
            self.trend_data(m, ctx)
        } else {
            self.non_trend_data(m, ctx)
        };
        format!("{}{shown}{dotted} {data}", " ".repeat(indent))
    }

    fn trend_data(&self, m: &MetricSummary, ctx: Ctx<'_>) -> String {
        let Some(cols) = self.trend_cols.get(&m.name) else {
            return String::new();
        };
        let parts: Vec<String> = ctx
            .trend_stats
            .iter()
            .zip(cols)
            .zip(&self.trend_col_max)
            .map(|((stat, col), max)| {
                let pad = " ".repeat(max.saturating_sub(str_width(col)));
                format!("{stat}={}{pad}", ctx.style.paint(col, Color::Cyan))
            })
            .collect();
        parts.join(" ")
    }

    fn non_trend_data(&self, m: &MetricSummary, ctx: Ctx<'_>) -> String {
        let Some(values) = self.values.get(&m.name) else {
            return String::new();
        };
        let Some((main, extras)) = values.split_first() else {
            return String::new();
        };
        let mut out = ctx.style.paint(main, Color::Cyan);
        out.push_str(&" ".repeat(self.max_value_len.saturating_sub(str_width(main))));
        match extras {
            [] => {}
            [single] => {
                out.push(' ');
                out.push_str(&ctx.style.faint(single, Color::Cyan));
            }
            several => {
                let parts: Vec<String> = several
                    .iter()
                    .enumerate()
                    .map(|(i, extra)| {
                        let max = self.extra_max.get(i).copied().unwrap_or(0);
                        let pad = " ".repeat(max.saturating_sub(str_width(extra)));
                        format!("{}{pad}", ctx.style.faint(extra, Color::Cyan))
                    })
                    .collect();
                out.push(' ');
                out.push_str(&parts.join(" "));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submetric_display_names() {
        assert_eq!(display_name("http_reqs"), "http_reqs");
        assert_eq!(
            display_name("http_req_duration{expected_response:true}"),
            "  { expected_response:true }"
        );
    }
}
