//! The command line, defined once with clap; k6's `run` flags and stampede's own commands.

use std::error::Error as _;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A fast load tester that runs k6 scripts unchanged.
#[derive(Debug, Parser)]
#[command(name = "stampede", version, about, disable_help_subcommand = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalFlags,
}

/// k6's global flags: where and how the log goes.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalFlags {
    /// Show debug lines too (`console.debug`).
    #[arg(short = 'v', long, global = true)]
    pub verbose: bool,
    /// Where log lines go: stderr, stdout, none, or file=PATH[,level=LEVEL].
    #[arg(long, global = true, env = "K6_LOG_OUTPUT", default_value = "stderr")]
    pub log_output: String,
    /// The log format: text, json or raw (anything else means text, as in k6).
    #[arg(long, global = true, env = "K6_LOG_FORMAT", default_value = "")]
    pub log_format: String,
    /// Disable coloured output.
    #[arg(long, global = true, env = "K6_NO_COLOR")]
    pub no_color: bool,
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
    #[arg(short = 'c', long, env = "K6_CONFIG")]
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
    /// Most parallel requests of one http.batch() call (default 20).
    #[arg(long)]
    pub batch: Option<u32>,
    /// Most parallel requests to one host of one http.batch() call (default 6).
    #[arg(long)]
    pub batch_per_host: Option<u32>,
    /// Most HTTP requests per second, all VUs together.
    #[arg(long)]
    pub rps: Option<u32>,
    /// Shortest iteration: a VU waits out the rest after a quicker one.
    #[arg(long)]
    pub min_iteration_duration: Option<String>,
    /// Close a VU's connections before each of its iterations.
    #[arg(long)]
    pub no_vu_connection_reuse: bool,
    /// Refuse requests to an IP range (CIDR; repeatable).
    #[arg(long = "blacklist-ip")]
    pub blacklist_ip: Vec<String>,
    /// Refuse requests to host names matching these patterns (comma-separated, `*.` allowed).
    #[arg(long)]
    pub block_hostnames: Option<String>,
    /// DNS: `ttl=5m,select=random,policy=preferIPv4` (ttl: inf, 0 or a duration; select:
    /// first, random, roundRobin; policy: preferIPv4, preferIPv6, onlyIPv4, onlyIPv6, any).
    #[arg(long)]
    pub dns: Option<String>,
    /// k6's REST API address: stampede serves no REST API yet, so it is only checked.
    #[arg(short = 'a', long, hide = true)]
    pub address: Option<String>,
    /// Refused: see `refused_flags`.
    #[arg(short = 'p', long, hide = true)]
    pub paused: bool,
    #[arg(long, hide = true)]
    pub execution_segment: Option<String>,
    #[arg(long, hide = true)]
    pub execution_segment_sequence: Option<String>,
    #[arg(long, hide = true)]
    pub local_ips: Option<String>,
    #[arg(long, hide = true)]
    pub profiling_enabled: bool,
    #[arg(long, hide = true)]
    pub secret_source: Vec<String>,
    #[arg(long, hide = true)]
    pub traces_output: Option<String>,
    #[arg(short = 't', long = "type", hide = true)]
    pub test_type: Option<String>,
    /// Pass the system environment to __ENV (default true).
    #[arg(long, env = "K6_INCLUDE_SYSTEM_ENV_VARS", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub include_system_env_vars: bool,
    /// JavaScript compatibility mode: extended, base or experimental_enhanced (stampede runs
    /// the same ES2023 modules in each).
    #[arg(long, env = "K6_COMPATIBILITY_MODE", default_value = "extended", value_parser = ["extended", "base", "experimental_enhanced"])]
    pub compatibility_mode: String,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub options: OptionFlags,
    /// Don't print the progress line or the banner.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Don't print the end-of-test summary, call handleSummary() or write --summary-export.
    #[arg(long, env = "K6_NO_SUMMARY")]
    pub no_summary: bool,
    /// Write the end-of-test summary as JSON to this file.
    #[arg(long, env = "K6_SUMMARY_EXPORT")]
    pub summary_export: Option<PathBuf>,
    /// The summary's shape: compact (k6's default), legacy (k6 before 1.0) or full (refused).
    #[arg(long, env = "K6_SUMMARY_MODE", default_value = "compact")]
    pub summary_mode: String,
    /// Write console.* lines to this file instead of the log.
    #[arg(long, env = "K6_CONSOLE_OUTPUT")]
    pub console_output: Option<PathBuf>,
    /// Stay alive after the test until Ctrl-C or SIGTERM.
    #[arg(short = 'l', long, env = "K6_LINGER")]
    pub linger: bool,
    /// Accepted for k6's sake: stampede sends no usage report.
    #[arg(long, env = "K6_NO_USAGE_REPORT")]
    pub no_usage_report: bool,
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
    /// The k6 script to run (`-` reads it from stdin).
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

/// k6's (cobra's) words for a bad flag: `unknown flag: --x`, `unknown shorthand flag: 'x' in
/// -x`, `flag needs an argument: --x`, `invalid argument "v" for "--x" flag: why`.
fn usage_message(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ErrorKind};
    let arg = e.get(ContextKind::InvalidArg)?.to_string();
    let flag = arg.split_whitespace().next().unwrap_or(&arg).to_string();
    match e.kind() {
        ErrorKind::UnknownArgument => Some(match flag.strip_prefix('-') {
            Some(short) if !short.starts_with('-') => {
                let c = short.chars().next().unwrap_or('-');
                format!("unknown shorthand flag: '{c}' in {flag}")
            }
            _ => format!("unknown flag: {flag}"),
        }),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let value = e
                .get(ContextKind::InvalidValue)
                .map(|v| v.to_string())
                .unwrap_or_default();
            if value.is_empty() {
                return Some(format!("flag needs an argument: {flag}"));
            }
            let why = e
                .source()
                .map(|s| s.to_string())
                .unwrap_or_else(|| "invalid value".into());
            Some(format!(
                "invalid argument {value:?} for {flag:?} flag: {why}"
            ))
        }
        _ => None,
    }
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
            ErrorKind::UnknownArgument | ErrorKind::InvalidValue | ErrorKind::ValueValidation
                if usage_message(&e).is_some() =>
            {
                let msg = usage_message(&e).unwrap_or_default();
                eprintln!(
                    "{}",
                    stampede_js::log_line(stampede_js::LogLevel::Error, &msg, &[])
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
