//! `k6/execution`: what the VU, its scenario and the instance look like right now.

use std::rc::Rc;
use std::sync::atomic::Ordering;

use rquickjs::{Ctx, Function, Object, Result, Value};

use super::throw;
use crate::test_context::StopRequest;
use crate::vu::VuState;

pub(crate) fn install<'js>(ctx: &Ctx<'js>, n: &Object<'js>, state: &Rc<VuState>) -> Result<()> {
    let s = state.clone();
    n.set(
        "execInfo",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, section: String| -> Result<Object<'js>> {
                let o = Object::new(ctx.clone())?;
                let test = &s.worker.test;
                let job = s.job.borrow();
                match section.as_str() {
                    "vu" => {
                        o.set("idInInstance", s.id)?;
                        o.set("idInTest", s.id)?;
                        o.set("iterationInInstance", s.iterations.get().saturating_sub(1))?;
                        o.set("iterationInScenario", s.iteration_in_scenario())?;
                    }
                    "scenario" => {
                        let Some(job) = job.as_ref() else {
                            return Err(throw(
                                &ctx,
                                "exec.scenario is only available while an iteration runs",
                            ));
                        };
                        let sc = &job.scenario;
                        o.set("name", &*sc.name)?;
                        o.set("executor", sc.executor)?;
                        let start_ms = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_millis() as f64)
                            .unwrap_or(0.0)
                            - (test.elapsed().saturating_sub(sc.start_time)).as_millis() as f64;
                        o.set("startTime", start_ms)?;
                        let progress = if sc.length.is_zero() {
                            0.0
                        } else {
                            (test.elapsed().saturating_sub(sc.start_time).as_secs_f64()
                                / sc.length.as_secs_f64())
                            .min(1.0)
                        };
                        o.set("progress", progress)?;
                        o.set("iterationInInstance", job.iteration_in_scenario)?;
                        o.set("iterationInTest", job.iteration_in_scenario)?;
                    }
                    "instance" => {
                        o.set(
                            "iterationsCompleted",
                            test.iterations_completed.load(Ordering::Relaxed),
                        )?;
                        o.set(
                            "iterationsInterrupted",
                            test.iterations_interrupted.load(Ordering::Relaxed),
                        )?;
                        o.set("vusActive", test.vus_active())?;
                        o.set(
                            "vusInitialized",
                            test.vus_initialized.load(Ordering::Relaxed),
                        )?;
                        o.set(
                            "currentTestRunDuration",
                            test.elapsed().as_secs_f64() * 1000.0,
                        )?;
                    }
                    other => return Err(throw(&ctx, format!("unknown execution section {other}"))),
                }
                Ok(o)
            },
        )?,
    )?;

    let s = state.clone();
    n.set(
        "vuTagGet",
        Function::new(ctx.clone(), move |k: String| -> Option<String> {
            vu_tags(&s)
                .into_iter()
                .find(|(tk, _)| *tk == k)
                .map(|(_, v)| v)
        })?,
    )?;
    let s = state.clone();
    n.set(
        "vuTagSet",
        Function::new(ctx.clone(), move |k: String, v: String| {
            let mut tags = s.custom_tags.borrow_mut();
            match tags.iter_mut().find(|(tk, _)| *tk == k) {
                Some(slot) => slot.1 = v,
                None => tags.push((k, v)),
            }
        })?,
    )?;
    let s = state.clone();
    n.set(
        "vuTagDelete",
        Function::new(ctx.clone(), move |k: String| {
            s.custom_tags.borrow_mut().retain(|(tk, _)| *tk != k);
        })?,
    )?;
    let s = state.clone();
    n.set(
        "vuTagKeys",
        Function::new(ctx.clone(), move || -> Vec<String> {
            vu_tags(&s).into_iter().map(|(k, _)| k).collect()
        })?,
    )?;

    let s = state.clone();
    n.set(
        "abort",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, msg: String| -> Result<()> {
                s.worker.test.request_stop(StopRequest::Abort(msg.clone()));
                s.interrupted.set(true);
                let text = if msg.is_empty() {
                    "test aborted".to_string()
                } else {
                    format!("test aborted: {msg}")
                };
                Err(throw(&ctx, text))
            },
        )?,
    )?;
    let s = state.clone();
    n.set(
        "markFailed",
        Function::new(ctx.clone(), move |msg: String| {
            s.worker.test.mark_failed(msg);
        })?,
    )?;
    let s = state.clone();
    n.set(
        "testOptions",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>| -> Result<Value<'js>> {
            ctx.json_parse(s.worker.test.settings.options_json.to_string())
        })?,
    )?;
    Ok(())
}

/// The tags the VU's samples carry, as `exec.vu.metrics.tags` shows them, in k6's order: the
/// test's, the scenario's, `scenario` and `group`, then those the script set (which win).
fn vu_tags(s: &VuState) -> Vec<(String, String)> {
    let mut tags = s.worker.test.settings.tags.clone();
    let mut set = |k: &str, v: &str| match tags.iter_mut().find(|(tk, _)| tk == k) {
        Some(slot) => slot.1 = v.to_string(),
        None => tags.push((k.to_string(), v.to_string())),
    };
    if let Some(job) = s.job.borrow().as_ref() {
        for (k, v) in &job.scenario.tags {
            set(k, v);
        }
        set("scenario", &job.scenario.name);
    }
    set("group", &s.group.borrow());
    for (k, v) in s.custom_tags.borrow().iter() {
        set(k, v);
    }
    tags
}
