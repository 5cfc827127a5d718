//! One module per command; each returns an exit code.

mod config;
mod demo;
mod inspect;
mod outputs;
mod report;
mod run;

use crate::cli::{Cli, Command};

pub fn dispatch(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Run(args) => run::run(args),
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
