//! Builds the report model from the merged metrics.

use std::collections::BTreeMap;

use stampede_metrics::{builtin, stats_of, Agg, Registry, ThresholdOutcome, Totals};
use stampede_report::{CheckSummary, GroupSummary, MetricSummary, SummaryData, ThresholdResult};

type Wanted = (String, stampede_metrics::MetricId, Vec<(String, String)>);

/// Everything the summary needs besides the totals.
pub struct SummaryInputs<'a> {
    pub registry: &'a Registry,
    pub totals: &'a Totals,
    pub thresholds: &'a [ThresholdOutcome],
    pub trend_stats: Vec<String>,
    pub time_unit: Option<String>,
    pub elapsed: std::time::Duration,
    pub setup_data: Option<String>,
    pub options: serde_json::Value,
    pub no_color: bool,
    /// What outputs could not deliver, a line each.
    pub undelivered: Vec<String>,
}

pub fn build(i: SummaryInputs<'_>) -> SummaryData {
    let secs = i.elapsed.as_secs_f64();
    let mut by_name: BTreeMap<String, MetricSummary> = BTreeMap::new();
    let thresholds_of = |key: &str| -> Vec<ThresholdResult> {
        i.thresholds
            .iter()
            .filter(|o| o.key == key)
            .map(|o| ThresholdResult {
                source: o.source.clone(),
                stat: o.stat.clone(),
                observed: o.observed,
                ok: o.passed,
            })
            .collect()
    };
    // (summary name, metric, tag selector) of every entry to show.
    let mut wanted: Vec<Wanted> = i
        .totals
        .metrics()
        .map(|id| (i.registry.def(id).name.clone(), id, Vec::new()))
        .collect();
    let expected = vec![("expected_response".to_string(), "true".to_string())];
    if i.totals
        .tag_sets(builtin::HTTP_REQ_DURATION)
        .any(|(t, _)| t.matches(&expected))
    {
        wanted.push((
            "http_req_duration{expected_response:true}".into(),
            builtin::HTTP_REQ_DURATION,
            expected,
        ));
    }
    for o in i.thresholds {
        if let Some(id) = i.registry.get(&o.metric_name) {
            wanted.push((o.key.clone(), id, o.selector.clone()));
        }
    }
    for (name, id, selector) in wanted {
        if by_name.contains_key(&name) {
            continue;
        }
        let def = i.registry.def(id);
        let values = i
            .totals
            .aggregate(id, def.kind, &selector)
            .map(|agg| stats_of(&agg, &i.trend_stats, secs))
            .unwrap_or_else(|| stats_of(&Agg::new(def.kind), &i.trend_stats, secs));
        let thresholds = thresholds_of(&name);
        by_name.insert(
            name.clone(),
            MetricSummary {
                name,
                kind: def.kind,
                contains: def.contains,
                values,
                thresholds,
            },
        );
    }
    SummaryData {
        metrics: by_name.into_values().collect(),
        root_group: groups(i.totals),
        trend_stats: i.trend_stats,
        time_unit: i.time_unit,
        test_run_duration: i.elapsed,
        is_std_out_tty: false,
        is_std_err_tty: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        no_color: i.no_color,
        check_order: check_order(i.totals),
        setup_data: i.setup_data,
        options: i.options,
        undelivered: i.undelivered,
    }
}

/// Check names in the order they were first seen.
fn check_order(totals: &Totals) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (tags, _) in totals.tag_sets(builtin::CHECKS) {
        if let Some(name) = tags.get("check") {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// The group tree with its checks, in the order the samples were first seen.
fn groups(totals: &Totals) -> GroupSummary {
    let mut root = GroupSummary::default();
    for (tags, _) in totals.tag_sets(builtin::GROUP_DURATION) {
        if let Some(path) = tags.get("group") {
            group_at(&mut root, path);
        }
    }
    for (tags, agg) in totals.tag_sets(builtin::CHECKS) {
        let (Some(name), Agg::Rate { trues, total }) = (tags.get("check"), agg) else {
            continue;
        };
        let path = tags.get("group").unwrap_or("");
        let g = group_at(&mut root, path);
        match g.checks.iter_mut().find(|c| c.name == name) {
            Some(c) => {
                c.passes += trues;
                c.fails += total - trues;
            }
            None => g.checks.push(CheckSummary {
                name: name.to_string(),
                group_path: path.to_string(),
                passes: *trues,
                fails: total - trues,
            }),
        }
    }
    root
}

fn group_at<'a>(root: &'a mut GroupSummary, path: &str) -> &'a mut GroupSummary {
    let mut g = root;
    let mut cur = String::new();
    for name in path.split("::").filter(|p| !p.is_empty()) {
        cur.push_str("::");
        cur.push_str(name);
        let idx = match g.groups.iter().position(|c| c.name == name) {
            Some(i) => i,
            None => {
                g.groups.push(GroupSummary {
                    name: name.to_string(),
                    path: cur.clone(),
                    ..Default::default()
                });
                g.groups.len() - 1
            }
        };
        g = &mut g.groups[idx];
    }
    g
}
