//! The OpenTelemetry output against a real OTLP receiver (to come).
