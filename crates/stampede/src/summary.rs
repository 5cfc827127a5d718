//! Builds the report model from the merged metrics.

use std::collections::BTreeMap;

use stampede_metrics::{builtin, stats_of, Agg, Registry, ThresholdOutcome, Totals};
use stampede_report::{
    CheckSummary, GroupSummary, MetricSummary, SummaryData, SummarySection, ThresholdResult,
};

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
    /// `--summary-mode full`: build the scenario and group sections (the samples kept their
    /// `scenario` and `group` tags).
    pub full: bool,
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
    let sections = i
        .full
        .then(|| full_sections(i.registry, i.totals, &i.trend_stats, secs));
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
        sections,
    }
}

/// The sections of k6's full summary: a `SCENARIO` per scenario, in name order, with its
/// groups inside in the order they ran; the shortcut's `default` scenario has none, its groups are sections of
/// their own.
fn full_sections(
    registry: &Registry,
    totals: &Totals,
    trend_stats: &[String],
    secs: f64,
) -> Vec<SummarySection> {
    let mut scenarios: Vec<String> = Vec::new();
    let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Groups in the order they ran, as k6 lists them: `group_duration`'s tag sets are in the
    // order each group first ended; the other metrics only add groups it lacks.
    let ids = std::iter::once(builtin::GROUP_DURATION)
        .chain(totals.metrics().filter(|id| *id != builtin::GROUP_DURATION));
    for id in ids {
        for (tags, _) in totals.tag_sets(id) {
            let Some(scenario) = tags.get("scenario") else {
                continue;
            };
            if !scenarios.iter().any(|s| s == scenario) {
                scenarios.push(scenario.to_string());
            }
            let group = tags.get("group").unwrap_or("");
            let known = paths.entry(scenario.to_string()).or_default();
            // Every group on the way down, so a group with nothing of its own still holds
            // its sub-groups.
            let mut path = String::new();
            for name in group.split("::").filter(|n| !n.is_empty()) {
                path.push_str("::");
                path.push_str(name);
                if !known.contains(&path) {
                    known.push(path.clone());
                }
            }
        }
    }
    scenarios.sort();
    let mut out = Vec::new();
    for scenario in scenarios {
        let selector = vec![("scenario".to_string(), scenario.clone())];
        let known = paths.remove(&scenario).unwrap_or_default();
        let groups = child_groups(registry, totals, trend_stats, secs, &selector, &known, "");
        if scenario == "default" {
            out.extend(groups);
        } else {
            let (metrics, checks) = section_of(registry, totals, trend_stats, secs, &selector);
            out.push(SummarySection {
                title: format!("SCENARIO: {scenario}"),
                metrics,
                checks,
                groups,
            });
        }
    }
    out
}

/// The groups directly inside `parent` (a group path, `""` for the root), in the order they ran.
fn child_groups(
    registry: &Registry,
    totals: &Totals,
    trend_stats: &[String],
    secs: f64,
    scenario: &[(String, String)],
    known: &[String],
    parent: &str,
) -> Vec<SummarySection> {
    let children: Vec<&String> = known
        .iter()
        .filter(|p| {
            p.strip_prefix(parent)
                .and_then(|rest| rest.strip_prefix("::"))
                .is_some_and(|name| !name.contains("::"))
        })
        .collect();
    children
        .into_iter()
        .map(|path| {
            let mut selector = scenario.to_vec();
            selector.push(("group".to_string(), path.clone()));
            let (metrics, checks) = section_of(registry, totals, trend_stats, secs, &selector);
            SummarySection {
                title: format!("GROUP: {}", path.rsplit("::").next().unwrap_or(path)),
                metrics,
                checks,
                groups: child_groups(registry, totals, trend_stats, secs, scenario, known, path),
            }
        })
        .collect()
}

/// The base metrics and the checks of the samples matching `selector`.
fn section_of(
    registry: &Registry,
    totals: &Totals,
    trend_stats: &[String],
    secs: f64,
    selector: &[(String, String)],
) -> (Vec<MetricSummary>, Vec<CheckSummary>) {
    let mut metrics = Vec::new();
    for id in totals.metrics() {
        let def = registry.def(id);
        if let Some(agg) = totals.aggregate(id, def.kind, selector) {
            metrics.push(MetricSummary {
                name: def.name.clone(),
                kind: def.kind,
                contains: def.contains,
                values: stats_of(&agg, trend_stats, secs),
                thresholds: Vec::new(),
            });
        }
    }
    metrics.sort_by(|a, b| a.name.cmp(&b.name));
    let mut checks: Vec<CheckSummary> = Vec::new();
    for (tags, agg) in totals.tag_sets(builtin::CHECKS) {
        let (Some(name), Agg::Rate { trues, total }) = (tags.get("check"), agg) else {
            continue;
        };
        if tags.matches(selector) {
            let path = tags.get("group").unwrap_or("");
            add_check(&mut checks, name, path, *trues, *total);
        }
    }
    (metrics, checks)
}

/// Adds a check's passes (`trues` of `total`) to its entry in `checks`, made if new.
fn add_check(checks: &mut Vec<CheckSummary>, name: &str, path: &str, trues: u64, total: u64) {
    match checks.iter_mut().find(|c| c.name == name) {
        Some(c) => {
            c.passes += trues;
            c.fails += total - trues;
        }
        None => checks.push(CheckSummary {
            name: name.to_string(),
            group_path: path.to_string(),
            passes: trues,
            fails: total - trues,
        }),
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
        add_check(
            &mut group_at(&mut root, path).checks,
            name,
            path,
            *trues,
            *total,
        );
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
