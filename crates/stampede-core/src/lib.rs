//! The test model shared by every other stampede crate: k6's options, durations, stages and
//! scenarios, and how the configuration sources are merged.
//!
//! Start with [`Options`] (what a script's `export const options`, a `--config` file, `K6_*`
//! environment variables and CLI flags each provide), then [`Options::scenarios_resolved`] which
//! turns the shortcuts (`vus`, `duration`, `iterations`, `stages`) into the scenario list the
//! engine executes, exactly as k6 v1.1.0 does.

mod duration;
mod error;
pub mod k6_keys;
mod log;
mod net;
mod options;
mod scenario;
mod system_tags;

pub use duration::{format_duration, parse_duration, parse_go_duration};
pub use error::ConfigError;
pub use log::{
    configure as configure_log, console, log, log_line, LogConfig, LogFormat, LogLevel, LogOutput,
};
pub use net::{Dns, DnsPolicy, DnsSelect, NetOptions, TlsAuth};
pub use options::{parse_stage, parse_stage_list, Options, ThresholdDef};
pub use scenario::{Executor, Scenario, Stage};
pub use system_tags::{SystemTag, SystemTagSet};
