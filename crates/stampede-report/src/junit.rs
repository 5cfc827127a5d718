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

/// `--junit`: JUnit XML for CI reporters (Jenkins, GitLab, GitHub), in the Surefire schema
/// they read. Two suites: `thresholds`, a case per threshold (a failing one is a failure whose
/// message gives the observed value), and `checks`, a case per check (one that ever failed is
/// a failure with its counts).
pub fn junit_report(data: &SummaryData, run_name: &str) -> String {
    let time = format!("{:.3}", data.test_run_duration.as_secs_f64());
    let mut thresholds = Vec::new();
    for m in &data.metrics {
        for t in &m.thresholds {
            let name = format!("{}: {}", m.name, t.source);
            let failure = (!t.ok).then(|| {
                format!(
                    "{} was {}, the threshold is {}",
                    t.stat,
                    crate::jsnum::js_string(t.observed),
                    t.source
                )
            });
            thresholds.push((format!("thresholds.{}", m.name), name, failure));
        }
    }
    let mut checks = Vec::new();
    collect_checks(&data.root_group, &mut checks);
    let suites = [("thresholds", thresholds), ("checks", checks)];
    let tests: usize = suites.iter().map(|(_, c)| c.len()).sum();
    let failures: usize = suites
        .iter()
        .map(|(_, c)| c.iter().filter(|x| x.2.is_some()).count())
        .sum();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{time}\">\n",
        escape(run_name)
    );
    for (suite, cases) in &suites {
        let failed = cases.iter().filter(|c| c.2.is_some()).count();
        out.push_str(&format!(
            "  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" time=\"{time}\">\n",
            cases.len()
        ));
        for (class, name, failure) in cases {
            let head = format!(
                "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
                escape(class),
                escape(name)
            );
            match failure {
                None => out.push_str(&format!("{head}/>\n")),
                Some(message) => out.push_str(&format!(
                    "{head}>\n      <failure type=\"{}\" message=\"{}\"/>\n    </testcase>\n",
                    suite.trim_end_matches('s'),
                    escape(message)
                )),
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

type Case = (String, String, Option<String>);

/// The checks of `g` and its groups as cases: `checks::group::sub` class, the check's name.
fn collect_checks(g: &crate::GroupSummary, out: &mut Vec<Case>) {
    for c in &g.checks {
        let total = c.passes + c.fails;
        let failure = (c.fails > 0).then(|| {
            format!(
                "{} of {total} failed ({:.2}%)",
                c.fails,
                c.fails as f64 / total.max(1) as f64 * 100.0
            )
        });
        out.push((format!("checks{}", g.path), c.name.clone(), failure));
    }
    for sub in &g.groups {
        collect_checks(sub, out);
    }
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
