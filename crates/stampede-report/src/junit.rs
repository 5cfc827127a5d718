//! JUnit XML with one test case per threshold, in the format of the `jUnit` helper of k6's
//! `k6-summary` jslib (0.0.x), which CI systems already read from k6 runs.

use crate::model::SummaryData;

/// The JUnit report with the suite called `k6 thresholds`; see [`junit_xml_named`].
pub fn junit_xml(data: &SummaryData) -> String {
    junit_xml_named(data, "k6 thresholds")
}

/// One `<testcase name="metric - expression" />` per threshold (the expression as written),
/// with `<failure message="failed" />` inside for the ones that failed; metrics in name order,
/// thresholds in the order the script gave them. The layout, including the jslib's
/// `</testsuite >`, is the jslib's byte for byte.
pub fn junit_xml_named(data: &SummaryData, suite_name: &str) -> String {
    let mut cases = Vec::new();
    let mut failures = 0;
    for m in &data.metrics {
        for t in &m.thresholds {
            let name = format!("{} - {}", escape(&m.name), escape(&t.source));
            if t.ok {
                cases.push(format!("<testcase name=\"{name}\" />"));
            } else {
                failures += 1;
                cases.push(format!(
                    "<testcase name=\"{name}\"><failure message=\"failed\" /></testcase>"
                ));
            }
        }
    }
    let tests = cases.len();
    format!(
        "<?xml version=\"1.0\"?>\n<testsuites tests=\"{tests}\" failures=\"{failures}\">\n\
         <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\">{}\n\
         </testsuite >\n</testsuites >",
        escape(suite_name),
        cases.join("\n")
    )
}

/// The jslib's escaping: `&`, `<`, `>`, `'` and `"`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_xml() {
        assert_eq!(
            escape("p(95)<500 & 'x' \"y\""),
            "p(95)&lt;500 &amp; &#39;x&#39; &quot;y&quot;"
        );
    }
}
