//! `stampede demo` and `stampede serve-demo`: the bundled target and script.

use std::path::PathBuf;

use stampede_target::{TargetConfig, TargetServer};

use crate::cli::{DemoArgs, OptionFlags, ServeArgs};
use crate::commands::config::resolve;
use crate::commands::run::{execute, RunOptions};
use crate::exit::{Failure, OK, USAGE};

/// The script `demo` runs (also `examples/demo.js`, which runs unchanged on k6).
const DEMO_SCRIPT: &str = include_str!("../../../../examples/demo.js");

/// A directory of our own under the system temp dir, removed on drop.
struct TempScript(PathBuf);

impl Drop for TempScript {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn demo(args: DemoArgs) -> Result<u8, Failure> {
    if !(args.scale > 0.0 && args.scale.is_finite()) {
        return Err(Failure::new(
            USAGE,
            format!(
                "invalid argument {:?} for \"--scale\" flag: must be a positive number",
                args.scale
            ),
        ));
    }
    let target = TargetServer::start(TargetConfig::default(), 0).map_err(|e| {
        Failure::new(
            USAGE,
            format!("can't start the demo target on 127.0.0.1: {e}"),
        )
    })?;
    eprintln!("demo target listening on {}", target.base_url());
    let dir = std::env::temp_dir().join(format!("stampede-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let guard = TempScript(dir);
    let script = guard.0.join("demo.js");
    std::fs::write(&script, DEMO_SCRIPT)?;

    let flags = OptionFlags {
        env: vec![format!("BASE_URL={}", target.base_url())],
        include_system_env_vars: true,
        ..OptionFlags::default()
    };
    let mut resolved = resolve(&flags, &script)?;
    if args.scale != 1.0 {
        if let Some(stages) = resolved.options.stages.as_mut() {
            for s in stages {
                s.duration = s
                    .duration
                    .mul_f64(args.scale)
                    .max(std::time::Duration::from_millis(200));
            }
        }
    }
    let code = execute(
        &script,
        resolved,
        RunOptions {
            quiet: args.quiet,
            no_summary: false,
            summary_export: None,
            junit: None,
            workers: None,
            no_color: false,
            out: &args.out,
            summary_mode: super::run::SummaryMode::Compact,
            linger: false,
        },
    )?;
    let stats = target.stats();
    eprintln!("demo target served {} requests", stats.total_requests);
    Ok(code)
}

pub fn serve(args: ServeArgs) -> Result<u8, Failure> {
    // One file per connection: as many as the hard limit allows.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let config = TargetConfig::try_from_env().map_err(|e| Failure::new(USAGE, e.to_string()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.worker_threads.max(1))
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = stampede_target::bind(args.port).await.map_err(|e| {
            Failure::new(
                USAGE,
                format!("can't listen on 127.0.0.1:{}: {e}", args.port),
            )
        })?;
        eprintln!(
            "stampede demo target listening on http://{}",
            listener.local_addr()?
        );
        stampede_target::serve(listener, config, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        Ok(OK)
    })
}
