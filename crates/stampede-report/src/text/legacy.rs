//! `--summary-mode=legacy`: the summary of k6 before 1.0 (the k6-summary jslib's
//! `textSummary`): the group tree with its checks, then every metric, sorted by name (a
//! sub-metric under its parent), a `✓`/`✗` before each metric with thresholds.

use stampede_metrics::MetricType;

use super::layout::{non_trend_values, trend_cols, Ctx};
use crate::model::{CheckSummary, GroupSummary, MetricSummary, SummaryData};
use crate::style::{clear_line_ends, str_width, Color, Style};

fn check_line(indent: &str, c: &CheckSummary, style: Style) -> String {
    if c.fails == 0 {
        return style.paint(&format!("{indent}✓ {}", c.name), Color::Green);
    }
    let percent = (100 * c.passes) / (c.passes + c.fails);
    style.paint(
        &format!(
            "{indent}✗ {}\n{indent} ↳  {percent}% — ✓ {} / ✗ {}",
            c.name, c.passes, c.fails
        ),
        Color::Red,
    )
}

fn group_lines(indent: &str, g: &GroupSummary, style: Style, out: &mut Vec<String>) {
    let mut indent = indent.to_owned();
    if !g.name.is_empty() {
        out.push(format!("{indent}█ {}\n", g.name));
        indent.push_str("  ");
    }
    for c in &g.checks {
        out.push(check_line(&indent, c, style));
    }
    if !g.checks.is_empty() {
        out.push(String::new());
    }
    for sub in &g.groups {
        group_lines(&indent, sub, style, out);
    }
}

/// `{ tag:value }` for a sub-metric, the name for a metric.
fn display_name(name: &str) -> String {
    match name.find('{') {
        Some(i) => {
            let inner = name[i + 1..].strip_suffix('}').unwrap_or(&name[i + 1..]);
            format!("{{ {inner} }}")
        }
        None => name.to_owned(),
    }
}

fn sub_indent(name: &str) -> &'static str {
    if name.contains('{') {
        "  "
    } else {
        ""
    }
}

/// The metric block: one line per metric, the columns padded over the whole block.
fn metric_lines(metrics: &[&MetricSummary], ctx: Ctx<'_>) -> Vec<String> {
    let name_max = metrics
        .iter()
        .map(|m| str_width(sub_indent(&m.name)) + str_width(&display_name(&m.name)))
        .max()
        .unwrap_or(0);
    let mut trend_max = vec![0; ctx.trend_stats.len()];
    let mut value_max = 0;
    let mut extra_max = [0usize; 2];
    for m in metrics {
        if m.kind == MetricType::Trend {
            for (max, col) in trend_max.iter_mut().zip(trend_cols(m, ctx)) {
                *max = (*max).max(str_width(&col));
            }
        } else {
            let values = non_trend_values(m, ctx);
            value_max = value_max.max(values.first().map_or(0, |v| str_width(v)));
            for (max, extra) in extra_max.iter_mut().zip(values.iter().skip(1)) {
                *max = (*max).max(str_width(extra));
            }
        }
    }
    let style = ctx.style;
    metrics
        .iter()
        .map(|m| {
            let data = if m.kind == MetricType::Trend {
                ctx.trend_stats
                    .iter()
                    .zip(trend_cols(m, ctx))
                    .zip(&trend_max)
                    .map(|((stat, col), max)| {
                        let pad = " ".repeat(max.saturating_sub(str_width(&col)));
                        format!("{stat}={}{pad}", style.paint(&col, Color::Cyan))
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                let values = non_trend_values(m, ctx);
                let (main, extras) = match values.split_first() {
                    Some((main, extras)) => (main.as_str(), extras),
                    None => ("", &[][..]),
                };
                let mut s = style.paint(main, Color::Cyan);
                s.push_str(&" ".repeat(value_max.saturating_sub(str_width(main))));
                if let [single] = extras {
                    s.push(' ');
                    s.push_str(&style.faint(single, Color::Cyan));
                } else if !extras.is_empty() {
                    let parts: Vec<String> = extras
                        .iter()
                        .zip(extra_max)
                        .map(|(e, max)| {
                            let pad = " ".repeat(max.saturating_sub(str_width(e)));
                            format!("{}{pad}", style.faint(e, Color::Cyan))
                        })
                        .collect();
                    s.push(' ');
                    s.push_str(&parts.join(" "));
                }
                s
            };
            let mark = if m.thresholds.is_empty() {
                " ".to_owned()
            } else if m.thresholds.iter().all(|t| t.ok) {
                style.paint("✓", Color::Green)
            } else {
                style.paint("✗", Color::Red)
            };
            let indent = sub_indent(&m.name);
            let shown = display_name(&m.name);
            let dots = (name_max + 3).saturating_sub(str_width(&shown) + indent.len());
            let dotted = style.faint(&format!("{}:", ".".repeat(dots)), Color::White);
            format!("   {indent}{mark} {shown}{dotted} {data}")
        })
        .collect()
}

/// The legacy summary as k6 1.1.0 writes it with `--summary-mode=legacy`.
pub fn render_legacy_text(data: &SummaryData) -> String {
    let style = Style {
        colors: data.is_std_out_tty && !data.no_color,
    };
    let ctx = Ctx {
        style,
        trend_stats: &data.trend_stats,
        time_unit: data.time_unit.as_deref(),
    };
    let mut lines = Vec::new();
    group_lines("     ", &data.root_group, style, &mut lines);
    let mut metrics: Vec<&MetricSummary> = data.metrics.iter().collect();
    metrics.sort_by(|a, b| {
        let (pa, sa) = a.name.split_at(a.name.find('{').unwrap_or(a.name.len()));
        let (pb, sb) = b.name.split_at(b.name.find('{').unwrap_or(b.name.len()));
        pa.cmp(pb).then(sa.cmp(sb))
    });
    lines.extend(metric_lines(&metrics, ctx));
    let out = format!("\n{}\n\n", lines.join("\n"));
    if data.is_std_out_tty {
        clear_line_ends(&out)
    } else {
        out
    }
}
