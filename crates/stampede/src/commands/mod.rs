//! One module per command; each returns an exit code.

mod config;
mod demo;
mod inspect;
mod outputs;
mod report;
mod run;

use crate::cli::{Cli, Command};
use crate::exit::{Failure, USAGE};

/// Sets up the log from `--log-output`, `--log-format`, `-v` and `--console-output`.
fn configure_log(cli: &Cli) -> Result<(), Failure> {
    let g = &cli.global;
    let output =
        stampede_core::LogOutput::parse(&g.log_output).map_err(|e| Failure::new(USAGE, e))?;
    let console_output = match &cli.command {
        Command::Run(args) => args.console_output.clone(),
        _ => None,
    };
    stampede_core::configure_log(&stampede_core::LogConfig {
        format: stampede_core::LogFormat::parse(&g.log_format),
        output,
        verbose: g.verbose,
        console_output,
    })
    .map_err(|e| Failure::new(USAGE, e))
}

pub fn dispatch(cli: Cli) -> u8 {
    if let Err(e) = configure_log(&cli) {
        return crate::exit::report(e);
    }
    let result = match cli.command {
        Command::Run(args) => run::run(args, cli.global.no_color),
        Command::Inspect(args) => inspect::inspect(args),
        Command::Report(args) => report::report(args),
        Command::Demo(args) => demo::demo(args),
        Command::ServeDemo(args) => demo::serve(args),
        Command::Version => {
            println!(
                "stampede v{} (k6 v1.1.0 compatible scripts)",
                env!("CARGO_PKG_VERSION")
            );
            Ok(0)
        }
    };
    result.unwrap_or_else(crate::exit::report)
}
