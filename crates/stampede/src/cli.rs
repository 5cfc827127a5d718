//! The command line, defined once with clap; k6's `run` flags and stampede's own commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A fast load tester that runs k6 scripts unchanged.
#[derive(Debug, Parser)]
#[command(name = "stampede", version, about, disable_help_subcommand = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a k6 test script.
    Run(RunArgs),
    /// Print the options a script resolves to, as JSON.
    Inspect(InspectArgs),
    /// Write the HTML report of a finished run from its result file (`-o result=...`) or its
    /// json output (`-o json=...`, from stampede or k6).
    Report(ReportArgs),
    /// Start the bundled demo target and run the bundled demo script against it.
    Demo(DemoArgs),
    /// Serve the bundled demo target in the foreground.
    ServeDemo(ServeArgs),
    /// Print the version.
    Version,
}

/// Options shared by `run` and `inspect` (k6's option flags).
#[derive(Debug, Args, Clone, Default)]
pub struct OptionFlags {
    /// Number of virtual users.
    #[arg(short = 'u', long, allow_hyphen_values = true)]
    pub vus: Option<i64>,
    /// Test duration, e.g. 30s, 1m30s.
    #[arg(short = 'd', long)]
    pub duration: Option<String>,
    /// Total iterations, shared among the VUs.
    #[arg(short = 'i', long, allow_hyphen_values = true)]
    pub iterations: Option<i64>,
    /// A ramping stage, `duration:target` (repeatable).
    #[arg(short = 's', long = "stage")]
    pub stages: Vec<String>,
    /// Set an environment variable for the script, `KEY=VALUE` (repeatable).
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Add a tag to every metric sample, `NAME=VALUE` (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// JSON config file (lowest priority after the defaults).
    #[arg(short = 'c', long)]
    pub config: Option<PathBuf>,
    /// Trend statistics shown in the summary, comma-separated.
    #[arg(long)]
    pub summary_trend_stats: Option<String>,
    /// Time unit for trend values in the summary: s, ms or us.
    #[arg(long)]
    pub summary_time_unit: Option<String>,
    /// Don't run setup().
    #[arg(long)]
    pub no_setup: bool,
    /// Don't run teardown().
    #[arg(long)]
    pub no_teardown: bool,
    /// Don't evaluate thresholds.
    #[arg(long)]
    pub no_thresholds: bool,
    /// Skip TLS certificate verification.
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// User-Agent header sent with requests.
    #[arg(long)]
    pub user_agent: Option<String>,
    /// Redirects to follow.
    #[arg(long)]
    pub max_redirects: Option<u32>,
    /// Throw on failed HTTP requests.
    #[arg(short = 'w', long)]
    pub throw: bool,
    /// Read but discard response bodies.
    #[arg(long)]
    pub discard_response_bodies: bool,
    /// Don't reuse connections.
    #[arg(long)]
    pub no_connection_reuse: bool,
    /// Log all HTTP requests and responses, without bodies; `--http-debug=full` adds them.
    #[arg(
        long,
        value_name = "full",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "headers"
    )]
    pub http_debug: Option<String>,
    /// The system tags samples carry, comma-separated (default: k6's).
    #[arg(long)]
    pub system_tags: Option<String>,
    /// Pass the system environment to __ENV (default true).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub include_system_env_vars: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub options: OptionFlags,
    /// Don't print the progress line or the banner.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Don't print the end-of-test summary.
    #[arg(long)]
    pub no_summary: bool,
    /// Write the end-of-test summary as JSON to this file.
    #[arg(long)]
    pub summary_export: Option<PathBuf>,
    /// Write the thresholds and checks as JUnit XML to this file (also `K6_JUNIT`).
    #[arg(long, env = "K6_JUNIT")]
    pub junit: Option<PathBuf>,
    /// Send metrics to an output, `name=arg` (repeatable): json, csv, influxdb,
    /// experimental-prometheus-rw, experimental-opentelemetry, web-dashboard, result.
    /// Replaces `K6_OUT`.
    #[arg(short = 'o', long = "out")]
    pub out: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Disable coloured output.
    #[arg(long)]
    pub no_color: bool,
    /// The k6 script to run.
    pub script: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The result file or json output (`.gz` or not).
    pub file: PathBuf,
    /// Where to write the report (default: the input's name with `.html`).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub options: OptionFlags,
    /// The k6 script.
    pub script: PathBuf,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Scale the demo's durations (e.g. 0.2 for a 3-second run).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Don't print the progress line or the banner.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Send metrics to an output, as `run -o` does (repeatable).
    #[arg(short = 'o', long = "out")]
    pub out: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
}

/// Parses the arguments. Usage errors exit with k6's 255; `--help` and `--version` with 0.
pub fn parse() -> Result<Cli, u8> {
    Cli::try_parse().map_err(|e| {
        use clap::error::ErrorKind;
        match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    crate::exit::USAGE
                } else {
                    0
                }
            }
            ErrorKind::UnknownArgument => {
                let arg = e
                    .get(clap::error::ContextKind::InvalidArg)
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                eprintln!(
                    "{}",
                    stampede_js::log_line(
                        stampede_js::LogLevel::Error,
                        &format!("unknown flag: {arg}"),
                        &[]
                    )
                );
                crate::exit::USAGE
            }
            _ => {
                let msg = e.render().to_string();
                let first = msg
                    .lines()
                    .next()
                    .unwrap_or("invalid arguments")
                    .trim_start_matches("error: ");
                eprintln!(
                    "{}",
                    stampede_js::log_line(stampede_js::LogLevel::Error, first, &[])
                );
                crate::exit::USAGE
            }
        }
    })
}
