//! The HTML report and the live dashboard: one page (`assets/report.html`, `.css`, `.js`) that
//! renders a ReportModel (see `docs/report.md`), with uPlot vendored in `assets/vendor/uplot/`.
//!
//! Both functions return one self-contained document: the styles, uPlot and the page's script
//! are inlined, so nothing is fetched from anywhere. [`render_report`] also embeds the model, so
//! the file works from disk with the network off; [`dashboard_html`] has no data and follows the
//! run through server-sent events from the relative URL `events`.

const TEMPLATE: &str = include_str!("../assets/report.html");
const REPORT_CSS: &str = include_str!("../assets/report.css");
const REPORT_JS: &str = include_str!("../assets/report.js");
const UPLOT_CSS: &str = include_str!("../assets/vendor/uplot/uPlot.min.css");
const UPLOT_JS: &str = include_str!("../assets/vendor/uplot/uPlot.iife.min.js");

/// The offline report: the page with `model_json` (a ReportModel, as JSON) embedded.
///
/// Every `<` in the JSON is written as `\u003c` (the same string to `JSON.parse`), so no text
/// in the model (a script or check name with `</script>` or `<!--`) can end the data element.
pub fn render_report(model_json: &str) -> String {
    let data = format!(
        "<script type=\"application/json\" id=\"report-data\">{}</script>",
        escape_json_for_script(model_json)
    );
    fill(&data)
}

/// The live dashboard: the same page without data; it connects to `events` (server-sent
/// events, each a complete ReportModel) and redraws on every message.
pub fn dashboard_html() -> String {
    fill("")
}

/// `<` can only occur inside JSON strings, where `\u003c` means the same character.
fn escape_json_for_script(json: &str) -> String {
    json.replace('<', "\\u003c")
}

/// Fills the template's `{{NAME}}` markers in one pass: text put in is never scanned again, so
/// data that happens to contain a marker stays as it is.
fn fill(data: &str) -> String {
    let assets = REPORT_CSS.len() + REPORT_JS.len() + UPLOT_CSS.len() + UPLOT_JS.len();
    let mut out = String::with_capacity(TEMPLATE.len() + assets + data.len());
    let mut rest = TEMPLATE;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let insert = match &rest[start + 2..start + len] {
            "UPLOT_CSS" => UPLOT_CSS,
            "REPORT_CSS" => REPORT_CSS,
            "UPLOT_JS" => UPLOT_JS,
            "REPORT_JS" => REPORT_JS,
            "REPORT_DATA" => data,
            _ => &rest[start..start + len + 2],
        };
        out.push_str(&rest[..start]);
        out.push_str(insert);
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA_ID: &str = "id=\"report-data\"";

    fn model(check_name: &str) -> String {
        serde_json::json!({
            "version": 1,
            "meta": { "tool": "stampede 0.1.0", "script": "load.js", "started": 1796664737.12,
                      "ended": 1796664797.4, "live": false, "period": 1, "options": {},
                      "scenarios": [], "undelivered": [] },
            "series": { "t": [1796664738], "vus": [1], "vus_max": [1], "http_reqs": [2],
                        "iterations": [1], "http_req_failed": [0.0], "data_sent": [10],
                        "data_received": [20], "checks": [1.0],
                        "http_req_duration": { "p50": [1.0], "p90": [1.0], "p95": [1.0], "p99": [1.0] },
                        "iteration_duration": { "p50": [2.0], "p95": [2.0], "p99": [2.0] },
                        "iteration_duration_corrected": null, "ws": null },
            "failures": [], "endpoints": [], "scenarios": [], "thresholds": [],
            "checks": [ { "name": check_name, "group": "", "passes": 1, "fails": 0 } ],
            "totals": { "duration": 60.3, "http_reqs": 2, "http_reqs_rate": 0.03,
                        "iterations": 1, "iterations_rate": 0.02, "http_req_failed": 0.0,
                        "checks": 1.0, "data_sent": 10, "data_received": 20, "vus_max": 1,
                        "http_req_duration": { "avg": 1.0, "p50": 1.0, "p90": 1.0, "p95": 1.0,
                                               "p99": 1.0, "max": 1.0 },
                        "iteration_duration_corrected": null }
        })
        .to_string()
    }

    /// The text of the embedded data element.
    fn embedded(html: &str) -> &str {
        let open = "<script type=\"application/json\" id=\"report-data\">";
        let start = html.find(open).expect("data element") + open.len();
        let len = html[start..]
            .find("</script>")
            .expect("end of the data element");
        &html[start..start + len]
    }

    #[test]
    fn nothing_is_loaded_from_the_network() {
        let banner = "/*! https://github.com/leeoniya/uPlot (v1.6.32) */";
        for html in [render_report(&model("ok")), dashboard_html()] {
            // The one URL is uPlot's licence banner, a comment; nothing else names a URL.
            assert_eq!(html.matches(banner).count(), 1);
            let rest = html.replace(banner, "");
            let lower = rest.to_ascii_lowercase();
            for needle in ["http://", "https://", "//cdn", "@import", "<link", " src="] {
                assert!(!lower.contains(needle), "the page contains {needle:?}");
            }
            // Every asset is inlined: no marker is left over.
            assert!(!html.contains("{{"), "unfilled marker");
            assert_eq!(
                html.matches("<script").count(),
                2 + usize::from(html.contains(DATA_ID))
            );
        }
    }

    #[test]
    fn the_data_round_trips() {
        let json = model("status is 200 & <ok> \u{2028} é");
        let html = render_report(&json);
        let back: serde_json::Value = serde_json::from_str(embedded(&html)).expect("valid JSON");
        let orig: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(back, orig);
        assert!(!dashboard_html().contains(DATA_ID));
    }

    #[test]
    fn a_hostile_check_name_cannot_break_out() {
        let hostile = "</script><script>alert(1)</script><!--";
        let html = render_report(&model(hostile));
        let data = embedded(&html);
        assert!(!data.contains('<'), "a raw < in the data element: {data}");
        assert!(!html.contains("alert(1)</script>"));
        let back: serde_json::Value = serde_json::from_str(data).expect("valid JSON");
        assert_eq!(back["checks"][0]["name"], hostile);
        // The rest of the page is intact after the data.
        assert!(html.trim_end().ends_with("</html>"));
    }

    #[test]
    fn inlined_assets_cannot_end_their_element() {
        for (name, text, end) in [
            ("report.js", REPORT_JS, "</script"),
            ("uPlot.iife.min.js", UPLOT_JS, "</script"),
            ("report.css", REPORT_CSS, "</style"),
            ("uPlot.min.css", UPLOT_CSS, "</style"),
        ] {
            let lower = text.to_ascii_lowercase();
            assert!(!lower.contains(end), "{name} contains {end}");
            assert!(!lower.contains("<!--"), "{name} contains <!--");
            assert!(!text.contains("{{"), "{name} contains a template marker");
        }
    }

    #[test]
    fn a_marker_in_the_data_stays_data() {
        let html = render_report(&model("{{REPORT_JS}}"));
        assert!(embedded(&html).contains("{{REPORT_JS}}"));
        assert_eq!(html.matches(REPORT_JS).count(), 1);
    }
}
