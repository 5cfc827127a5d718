//! What the outputs' unit tests share: a run, samples, and running an output through them.

use std::collections::BTreeMap;

use stampede_metrics::{builtin, MetricId, SampleGroup, SharedRegistry, TagSet, UnixNanos};

use crate::{Output, OutputParams, Report, RunInfo};

pub(crate) fn params(arg: Option<&str>, env: &[(&str, &str)]) -> OutputParams {
    OutputParams {
        arg: arg.map(str::to_string),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        config: None,
    }
}

pub(crate) fn run_info() -> RunInfo {
    RunInfo {
        registry: SharedRegistry::new(),
        ..RunInfo::default()
    }
}

/// 2026-12-07T17:32:17.17829439Z
pub(crate) const T: UnixNanos = UnixNanos(1_796_664_737_178_294_390);

pub(crate) fn group(tags: &[(&str, &str)], values: &[(MetricId, f64)]) -> SampleGroup {
    SampleGroup {
        time: T,
        tags: TagSet::from_pairs(tags.iter().copied()),
        metadata: None,
        values: values.iter().copied().collect(),
    }
}

/// One request's samples, as a VU records them.
pub(crate) fn request(url: &str, status: &str) -> SampleGroup {
    group(
        &[
            ("expected_response", "true"),
            ("group", ""),
            ("method", "GET"),
            ("name", url),
            ("proto", "HTTP/1.1"),
            ("scenario", "default"),
            ("status", status),
            ("url", url),
        ],
        &[
            (builtin::HTTP_REQS, 1.0),
            (builtin::HTTP_REQ_DURATION, 1.528508),
        ],
    )
}

/// Starts `output`, hands it `groups` in one batch, flushes it for the last time.
pub(crate) fn drive(output: &mut dyn Output, run: &RunInfo, groups: Vec<SampleGroup>) -> Report {
    let report = Report::new("test".into());
    output.start(run, &report).expect("start");
    output.samples(&groups, &report);
    output.flush(&report, true);
    report
}

/// A file's text, gunzipped if its name ends in `.gz`.
pub(crate) fn read_text(path: &std::path::Path) -> String {
    use std::io::Read;
    let mut text = String::new();
    let file = std::fs::File::open(path).expect("open");
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .expect("gunzip");
    } else {
        std::io::BufReader::new(file)
            .read_to_string(&mut text)
            .expect("read");
    }
    text
}
