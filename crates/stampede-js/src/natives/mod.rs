//! The native functions behind the k6 modules, installed per VU as the global
//! `__stampede_native` (the embedded modules in `js/` capture it when they are evaluated), plus
//! the k6 globals (`console`, timers, `__ENV`, `__VU`, `__ITER`, `open`).

mod codec;
mod cookie_jar;
mod exec;
mod http;
mod metrics;
mod ws;

pub(crate) use http::ResponseShape;

use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use rquickjs::function::Opt;
use rquickjs::{ArrayBuffer, Ctx, Exception, Function, Object, Result, Value};

use crate::console::LogLevel;
use crate::vu::VuState;

/// Throws a JS `Error` with `msg`.
pub(crate) fn throw(ctx: &Ctx<'_>, msg: impl AsRef<str>) -> rquickjs::Error {
    Exception::throw_message(ctx, msg.as_ref())
}

/// The error natives raise when the test interrupts the iteration they block in.
pub(crate) fn interrupted(ctx: &Ctx<'_>) -> rquickjs::Error {
    throw(
        ctx,
        "test run was interrupted: the iteration was stopped at the end of its gracefulStop",
    )
}

pub(crate) fn bytes_of(v: &Value<'_>) -> Option<Vec<u8>> {
    if let Some(s) = v.as_string() {
        return s.to_string().ok().map(String::into_bytes);
    }
    let obj = v.as_object()?;
    if let Some(ab) = ArrayBuffer::from_object(obj.clone()) {
        // SAFETY: the slice is copied before any JavaScript runs.
        return unsafe { ab.as_bytes() }.map(<[u8]>::to_vec);
    }
    None
}

/// Installs the natives and the k6 globals into a VU's context.
pub(crate) fn install<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> Result<()> {
    let n = Object::new(ctx.clone())?;
    let globals = ctx.globals();

    n.set(
        "log",
        Function::new(ctx.clone(), |level: String, msg: String| {
            let level = match level.as_str() {
                "debug" => LogLevel::Debug,
                "warning" => LogLevel::Warning,
                "error" => LogLevel::Error,
                _ => LogLevel::Info,
            };
            stampede_core::console(level, &msg);
        })?,
    )?;

    let s = state.clone();
    n.set(
        "sleep",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, secs: f64| -> Result<()> {
            if s.in_init.get() {
                return Err(throw(&ctx, "sleep() is not available in the init context"));
            }
            if !secs.is_finite() || secs <= 0.0 {
                return Ok(());
            }
            let d = Duration::from_secs_f64(secs);
            s.block_on(move || tokio::time::sleep(d))
                .map_err(|_| interrupted(&ctx))
        })?,
    )?;

    n.set(
        "parseDurationMs",
        Function::new(ctx.clone(), |ctx: Ctx<'js>, s: String| -> Result<f64> {
            let v = serde_json::Value::String(s.clone());
            stampede_core::parse_duration(&v, "timeout")
                .map(|d| d.as_secs_f64() * 1000.0)
                .map_err(|e| throw(&ctx, e.to_string()))
        })?,
    )?;

    n.set(
        "bytesToString",
        Function::new(ctx.clone(), |v: Value<'js>| -> String {
            bytes_of(&v)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        })?,
    )?;

    let s = state.clone();
    n.set(
        "timersPending",
        Function::new(ctx.clone(), move |count: f64| {
            s.timers_pending.set(count as usize)
        })?,
    )?;

    let s = state.clone();
    n.set(
        "sharedGet",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, name: String| -> Result<Option<String>> {
                if !s.in_init.get() {
                    return Err(throw(
                        &ctx,
                        "new SharedArray must be called in the init context",
                    ));
                }
                Ok(s.worker.test.shared_array(&name).map(|j| j.to_string()))
            },
        )?,
    )?;
    let s = state.clone();
    n.set(
        "sharedPut",
        Function::new(ctx.clone(), move |name: String, json: String| {
            s.worker.test.put_shared_array(&name, json.into());
        })?,
    )?;

    let s = state.clone();
    n.set(
        "internalModule",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, name: String| -> Result<Object<'js>> {
                crate::loader::internal_module(&ctx, &s.worker.test, &name)
            },
        )?,
    )?;

    let s = state.clone();
    n.set(
        "typedArrays",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>| s.typed_arrays(&ctx))?,
    )?;

    let epoch = std::time::Instant::now();
    n.set(
        "nowMs",
        Function::new(ctx.clone(), move || epoch.elapsed().as_secs_f64() * 1000.0)?,
    )?;

    metrics::install(ctx, &n, state)?;
    // The natives of the other modules are installed when a module asks for them (every
    // native is an object in each VU's context: ~200 bytes a VU for each one never used).
    let s = state.clone();
    n.set(
        "load",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, group: String| -> Result<()> {
                let bit = match group.as_str() {
                    "http" => 1,
                    "exec" => 2,
                    "codec" => 4,
                    "ws" => 8,
                    other => return Err(throw(&ctx, format!("no native group {other:?}"))),
                };
                if s.native_groups.get() & bit != 0 {
                    return Ok(());
                }
                if bit & (4 | 8) != 0 {
                    // Their natives hand out ArrayBuffers.
                    s.typed_arrays(&ctx)?;
                }
                let n: Object<'js> = ctx.globals().get("__stampede_native")?;
                match bit {
                    1 => http::install(&ctx, &n, &s)?,
                    2 => exec::install(&ctx, &n, &s)?,
                    4 => codec::install(&ctx, &n)?,
                    _ => ws::install(&ctx, &n, &s)?,
                }
                s.native_groups.set(s.native_groups.get() | bit);
                Ok(())
            },
        )?,
    )?;

    globals.set("__stampede_native", n)?;

    let env = Object::new(ctx.clone())?;
    for (k, v) in &state.worker.test.settings.env {
        env.set(k.as_str(), v.as_str())?;
    }
    globals.set("__ENV", env)?;
    globals.set("__VU", state.id)?;
    globals.set("__ITER", 0)?;

    let s = state.clone();
    globals.set(
        "open",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, path: String, mode: Opt<String>| -> Result<Value<'js>> {
                if !s.in_init.get() {
                    return Err(throw(
                        &ctx,
                        "open() can only be called from the init context",
                    ));
                }
                let p = Path::new(&path);
                let full = if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    // Relative to the module that calls `open()`, as in k6 (level 0 is the
                    // innermost JS frame: natives have none).
                    let caller = (0..4)
                        .filter_map(|level| ctx.script_or_module_name(level))
                        .filter_map(|atom| atom.to_string().ok())
                        .find(|name| Path::new(name).is_absolute());
                    match caller.as_deref().and_then(|m| Path::new(m).parent()) {
                        Some(dir) => dir.join(p),
                        None => s.worker.test.script_dir().join(p),
                    }
                };
                let full = crate::loader::normalize(&full);
                let bytes = s
                    .worker
                    .test
                    .read_file(&full)
                    .map_err(|e| throw(&ctx, format!("open {}: {e}", full.display())))?;
                if mode.0.as_deref() == Some("b") {
                    s.typed_arrays(&ctx)?;
                    Ok(ArrayBuffer::new(ctx.clone(), bytes.as_slice().to_vec())?.into_value())
                } else {
                    Ok(
                        rquickjs::String::from_str(ctx.clone(), &String::from_utf8_lossy(&bytes))?
                            .into_value(),
                    )
                }
            },
        )?,
    )?;
    Ok(())
}
