//! `stampede inspect script.js`: the resolved options as JSON.

use crate::cli::InspectArgs;
use crate::commands::config::{resolve, script_path};
use crate::exit::{Failure, OK};

pub fn inspect(args: InspectArgs) -> Result<u8, Failure> {
    let script = script_path(&args.script)?;
    let r = resolve(&args.options, &script)?;
    let scenarios = r.options.scenarios_resolved().map_err(Failure::config)?;
    let mut json = r.options.to_json();
    if let Some(obj) = json.as_object_mut() {
        let sc: serde_json::Map<String, serde_json::Value> = scenarios
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    serde_json::json!({
                        "executor": s.executor.name(),
                        "exec": s.exec,
                        "startTime": stampede_core::format_duration(s.start_time),
                        "gracefulStop": stampede_core::format_duration(s.graceful_stop),
                        "description": s.describe(),
                    }),
                )
            })
            .collect();
        obj.insert("scenarios".into(), serde_json::Value::Object(sc));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&json).unwrap_or_default()
    );
    Ok(OK)
}
