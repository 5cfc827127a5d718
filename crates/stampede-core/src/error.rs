use thiserror::Error;

/// A problem with the test configuration. Maps to k6's exit code 104 (invalid config).
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ConfigError {
    /// A field has a value of the wrong type or out of range.
    #[error("invalid value for `{field}`: {reason}")]
    Invalid { field: String, reason: String },
    /// A required field is absent.
    #[error("`{field}` is required: {reason}")]
    Missing { field: String, reason: String },
    /// A scenario breaks one of its executor's rules (k6's wording: the scenario, then why).
    #[error("scenario {name} has configuration errors: {reason}")]
    Scenario { name: String, reason: String },
    /// A duration string could not be parsed.
    #[error("invalid duration {value:?}: {reason}")]
    Duration { value: String, reason: String },
}

impl ConfigError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
    pub(crate) fn scenario(name: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Scenario {
            name: name.into(),
            reason: reason.into(),
        }
    }
    pub(crate) fn missing(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Missing {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
