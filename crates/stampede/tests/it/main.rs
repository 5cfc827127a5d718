//! Integration tests: the real `stampede` binary against the real demo target on 127.0.0.1:0.
#![allow(clippy::unwrap_used)]

mod api;
mod compat_cli;
mod compat_http;
mod compat_js;
mod compat_net;
mod compat_options;
mod compat_run;
mod dashboard;
mod dashboards;
mod errors;
mod examples;
mod executors;
mod k6_compare;
mod lifecycle;
mod outputs;
mod outputs_otel;
mod outputs_prometheus;
mod reports;
mod servers;
mod support;
mod timing;
