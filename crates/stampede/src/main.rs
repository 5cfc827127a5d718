//! The `stampede` binary: parse the command line, run the command, exit with k6's codes.

mod cli;
mod commands;
mod exit;
mod summary;

use std::process::ExitCode;

/// mimalloc for Rust and (through rquickjs' `rust-alloc`) for QuickJS: measured faster per
/// request than glibc malloc on the throughput benchmark.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let code = match cli::parse() {
        Ok(cli) => commands::dispatch(cli),
        Err(code) => code,
    };
    ExitCode::from(code)
}
