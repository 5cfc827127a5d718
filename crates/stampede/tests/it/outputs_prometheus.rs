//! The Prometheus remote-write output against real Prometheus (to come).
