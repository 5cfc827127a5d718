//! `check`, `group` and custom metrics.

use std::rc::Rc;
use std::time::Instant;

use rquickjs::function::Opt;
use rquickjs::{Coerced, Ctx, Exception, FromJs, Function, Object, Result, Value};
use stampede_metrics::{builtin, MetricId, MetricType, ValueType};

use super::throw;
use crate::vu::VuState;

/// Reads a JS tags object into owned pairs (values stringified).
pub(crate) fn tags_of(obj: Option<Object<'_>>) -> Vec<(String, String)> {
    let Some(obj) = obj else { return Vec::new() };
    obj.props::<String, rquickjs::Coerced<String>>()
        .filter_map(|r| r.ok())
        .map(|(k, v)| (k, v.0))
        .collect()
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, n: &Object<'js>, state: &Rc<VuState>) -> Result<()> {
    // `check(val, sets, tags)` whole, natively: in a loop of `http.get` + one check, the check
    // written in JS (Object.keys, the loop, a native call per result) cost ~2 us of a 16 us
    // iteration.
    let s = state.clone();
    n.set(
        "check",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  val: Value<'js>,
                  sets: Opt<Value<'js>>,
                  tags: Opt<Value<'js>>|
                  -> Result<bool> {
                if s.in_init.get() {
                    return Err(throw(&ctx, "check() is not available in the init context"));
                }
                let sets = sets.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
                if sets.is_undefined() || sets.is_null() {
                    // As k6 (and Object.keys) do.
                    return Err(Exception::throw_type(
                        &ctx,
                        "Cannot convert undefined or null to object",
                    ));
                }
                let Some(sets) = sets.into_object() else {
                    // A primitive has no own properties: no checks.
                    return Ok(true);
                };
                let extra = tags_of(tags.0.and_then(Value::into_object));
                let mut all = true;
                for prop in sets.props::<String, Value<'js>>() {
                    let (name, c) = prop?;
                    let ok = match c.as_function() {
                        Some(f) if is_async(f) => {
                            return Err(throw(
                                &ctx,
                                "check() does not support async functions as arguments: its \
                                 result would be a Promise, not a pass or a fail",
                            ))
                        }
                        Some(f) => match f.call::<_, Coerced<bool>>((val.clone(),)) {
                            Ok(ok) => ok.0,
                            Err(e) => {
                                emit_check(&s, &name, false, &extra);
                                return Err(e);
                            }
                        },
                        None => Coerced::<bool>::from_js(&ctx, c)?.0,
                    };
                    emit_check(&s, &name, ok, &extra);
                    all &= ok;
                }
                Ok(all)
            },
        )?,
    )?;

    let epoch = Instant::now();
    let s = state.clone();
    n.set(
        "groupEnter",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, name: String| -> Result<f64> {
                if name.contains("::") {
                    return Err(throw(&ctx, "group and check names may not contain '::'"));
                }
                let mut g = s.group.borrow_mut();
                g.push_str("::");
                g.push_str(&name);
                Ok(epoch.elapsed().as_secs_f64())
            },
        )?,
    )?;
    let s = state.clone();
    n.set(
        "groupExit",
        Function::new(ctx.clone(), move |start: f64| {
            let ms = (epoch.elapsed().as_secs_f64() - start) * 1000.0;
            if !s.in_init.get() {
                s.emit(builtin::GROUP_DURATION, MetricType::Trend, ms, &[]);
            }
            let mut g = s.group.borrow_mut();
            if let Some(i) = g.rfind("::") {
                g.truncate(i);
            }
        })?,
    )?;

    let s = state.clone();
    n.set(
        "registerMetric",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, name: String, kind: String, is_time: bool| -> Result<u32> {
                if !s.in_init.get() {
                    return Err(throw(&ctx, "metrics must be declared in the init context"));
                }
                let kind = MetricType::from_name(&kind)
                    .ok_or_else(|| throw(&ctx, "unknown metric type"))?;
                let contains = if is_time {
                    ValueType::Time
                } else {
                    ValueType::Default
                };
                s.worker
                    .test
                    .registry
                    .lock()
                    .register(&name, kind, contains)
                    .map(|id| id.0)
                    .map_err(|e| throw(&ctx, e.to_string()))
            },
        )?,
    )?;

    let s = state.clone();
    n.set(
        "metricInvalid",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, name: String, value: String| -> Result<bool> {
                let msg = format!(
                    "'{value}' is an invalid value for metric '{name}', a number or a boolean \
                     value is expected"
                );
                if s.worker.test.settings.throw {
                    return Err(throw(&ctx, msg));
                }
                crate::console::emit(crate::console::LogLevel::Warning, &msg, &[]);
                Ok(false)
            },
        )?,
    )?;
    let s = state.clone();
    n.set(
        "metricAdd",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  id: u32,
                  kind: String,
                  value: f64,
                  tags: Option<Object<'js>>|
                  -> Result<()> {
                if s.in_init.get() {
                    return Err(throw(&ctx, "metrics can't be added to in the init context"));
                }
                let kind = MetricType::from_name(&kind)
                    .ok_or_else(|| throw(&ctx, "unknown metric type"))?;
                let extra = tags_of(tags);
                let pairs: Vec<(&str, &str)> = extra
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                s.emit(MetricId(id), kind, value, &pairs);
                Ok(())
            },
        )?,
    )?;
    Ok(())
}

/// One sample of `checks`, tagged with the check's name besides the usual tags.
fn emit_check(s: &VuState, name: &str, ok: bool, extra: &[(String, String)]) {
    let mut pairs: smallvec::SmallVec<[(&str, &str); 8]> = extra
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if s.worker
        .test
        .settings
        .system_tags
        .has(stampede_core::SystemTag::Check)
    {
        pairs.push(("check", name));
    }
    s.emit(
        builtin::CHECKS,
        MetricType::Rate,
        if ok { 1.0 } else { 0.0 },
        &pairs,
    );
}

/// An `async function` (whose prototype is `AsyncFunction.prototype`, tagged so).
fn is_async(f: &Function<'_>) -> bool {
    f.get_prototype()
        .and_then(|p| {
            p.get::<_, Option<String>>(rquickjs::atom::PredefinedAtom::SymbolToStringTag)
                .ok()
        })
        .flatten()
        .is_some_and(|tag| tag == "AsyncFunction")
}
