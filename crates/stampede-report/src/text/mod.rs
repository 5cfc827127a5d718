//! k6 v1.1.0's end-of-test text summary, in its compact (default) and full modes.
//!
//! The output is `█ THRESHOLDS` (when any metric has thresholds) and `█ TOTAL RESULTS`: the
//! checks block, then the metric sections CUSTOM, HTTP, EXECUTION, NETWORK, BROWSER,
//! WEB_VITALS, GRPC and WEBSOCKET (empty ones left out). Compact mode prints no `█ GROUP` or
//! `█ SCENARIO` sections: checks from every group are listed flat, once per name. Full mode
//! also shows the HTTP timing breakdown, then a `█ SCENARIO` section per scenario (a
//! `█ GROUP` per group for the shortcut's `default` one) with `↳ GROUP` sections inside.
//!
//! [`layout`] holds the width rules; the other modules build one part each.

mod checks;
mod layout;
mod legacy;
mod sections;
mod thresholds;

use crate::model::SummaryData;
use crate::style::{clear_line_ends, Color, Style};

use layout::Ctx;
pub use legacy::render_legacy_text;

/// One entry of a section, as k6 joins them: a line goes on a new line, a blank ends the
/// current line (so it makes an empty line after a line).
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Line(String),
    Blank,
}

/// The summary exactly as k6 writes it to stdout, leading and trailing blank lines included:
/// `"\n\n  █ TOTAL RESULTS \n\n    checks_total....: …\n\n\n\n"`.
///
/// With `is_std_out_tty` it is what k6 writes to a terminal: coloured (unless `no_color`), and
/// every line ending in `ESC[0K`.
pub fn render_text(data: &SummaryData) -> String {
    let style = Style {
        colors: data.is_std_out_tty && !data.no_color,
    };
    let ctx = Ctx {
        style,
        trend_stats: &data.trend_stats,
        time_unit: data.time_unit.as_deref(),
    };
    let mut sections: Vec<(String, Vec<Item>)> = Vec::new();
    let thresholds = thresholds::threshold_lines(data, ctx);
    if !thresholds.is_empty() {
        sections.push(("THRESHOLDS".into(), thresholds));
    }
    let full = data.sections.is_some();
    let mut total = checks::checks_block(data, ctx);
    total.extend(sections::metric_sections(&data.metrics, 4, full, ctx));
    sections.push(("TOTAL RESULTS".into(), total));
    let seconds = checks::seconds(data);
    for section in data.sections.iter().flatten() {
        sections.push((
            section.title.clone(),
            section_items(section, 4, seconds, ctx),
        ));
    }
    if !data.undelivered.is_empty() {
        let lines = data
            .undelivered
            .iter()
            .map(|l| {
                Item::Line(format!(
                    "    {}",
                    style.paint(&format!("✗ {l}"), Color::Red)
                ))
            })
            .collect();
        sections.push(("OUTPUTS".into(), lines));
    }

    let mut out = String::from("\n");
    for (title, content) in sections {
        let heading = Item::Line(format!("  █ {} \n", style.bold(&title)));
        for item in std::iter::once(heading).chain(content).chain([Item::Blank]) {
            match item {
                Item::Line(line) => {
                    out.push('\n');
                    out.push_str(&line);
                }
                Item::Blank => out.push('\n'),
            }
        }
    }
    out.push_str("\n\n");
    if data.is_std_out_tty {
        clear_line_ends(&out)
    } else {
        out
    }
}

/// A full summary's section at `indent`: its checks, its metrics, then each group inside it
/// under a `↳ GROUP` heading, two spaces further in.
fn section_items(
    section: &crate::model::SummarySection,
    indent: usize,
    seconds: f64,
    ctx: Ctx<'_>,
) -> Vec<Item> {
    let checks = section.metrics.iter().find(|m| m.name == "checks");
    let mut items = checks::block(checks, &section.checks, seconds, indent, ctx);
    items.extend(sections::metric_sections(
        &section.metrics,
        indent,
        true,
        ctx,
    ));
    for group in &section.groups {
        items.push(Item::Line(format!(
            "{}↳ {} \n",
            " ".repeat(indent),
            ctx.style.bold(&group.title)
        )));
        items.extend(section_items(group, indent + 2, seconds, ctx));
    }
    items
}
