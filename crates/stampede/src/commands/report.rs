//! `stampede report FILE`: the HTML report of a finished run, from its result file or its json
//! output.

use std::path::{Path, PathBuf};

use stampede_core::Options;
use stampede_metrics::ThresholdSet;
use stampede_report::{render_report, ReportBuilder, RunMeta};

use crate::cli::ReportArgs;
use crate::exit::{Failure, OK, USAGE};

pub fn report(args: ReportArgs) -> Result<u8, Failure> {
    let recorded = stampede_output::result::read_any(&args.file)
        .map_err(|e| Failure::new(USAGE, format!("can't read the run: {e}")))?;
    let h = &recorded.header;
    // The thresholds are judged again on the whole run, from the options it recorded.
    let thresholds = match Options::from_json(&h.options) {
        Ok(o) => ThresholdSet::parse(o.thresholds.as_deref().unwrap_or(&[]), &recorded.registry)
            .map_err(Failure::config)?,
        Err(e) => {
            return Err(Failure::config(format!(
                "{}: its options: {e}",
                args.file.display()
            )))
        }
    };
    let meta = RunMeta {
        tool: h.tool.clone(),
        script: h.script.clone(),
        options: h.options.clone(),
        scenarios: h.scenarios.clone(),
    };
    let mut builder = ReportBuilder::new(recorded.registry.clone(), thresholds, meta);
    for d in &recorded.intervals {
        builder.add(d);
    }
    let out = args.output.unwrap_or_else(|| html_path(&args.file));
    let model = builder.model(false);
    std::fs::write(&out, render_report(&model.to_string()))
        .map_err(|e| Failure::new(USAGE, format!("can't write {}: {e}", out.display())))?;
    eprintln!(
        "report: {} ({} seconds, {} requests)",
        out.display(),
        recorded.intervals.len(),
        model["totals"]["http_reqs"].as_f64().unwrap_or(0.0) as u64
    );
    Ok(OK)
}

/// `run.ndjson.gz` -> `run.html`, `out.json` -> `out.html`.
fn html_path(input: &Path) -> PathBuf {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let stem = name
        .trim_end_matches(".gz")
        .trim_end_matches(".ndjson")
        .trim_end_matches(".json")
        .to_string();
    input.with_file_name(format!("{stem}.html"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_report_goes_beside_its_input() {
        let p = |s: &str| super::html_path(std::path::Path::new(s));
        assert_eq!(
            p("/tmp/run.ndjson.gz"),
            std::path::PathBuf::from("/tmp/run.html")
        );
        assert_eq!(p("out.json"), std::path::PathBuf::from("out.html"));
    }
}
