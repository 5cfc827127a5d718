//! k6's system tags: the tags the tool itself puts on samples, chosen with `systemTags` /
//! `--system-tags` / `K6_SYSTEM_TAGS`.

use crate::ConfigError;

macro_rules! system_tags {
    ($($tag:ident = $name:literal,)*) => {
        /// One of k6's system tags.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum SystemTag { $($tag),* }

        impl SystemTag {
            /// Every system tag, in k6's order.
            pub const ALL: &'static [SystemTag] = &[$(SystemTag::$tag),*];

            /// The tag's key, as samples carry it.
            pub fn name(self) -> &'static str {
                match self { $(SystemTag::$tag => $name),* }
            }

            pub fn from_name(name: &str) -> Option<SystemTag> {
                match name { $($name => Some(SystemTag::$tag),)* _ => None }
            }
        }
    };
}

system_tags! {
    Proto = "proto",
    Subproto = "subproto",
    Status = "status",
    Method = "method",
    Url = "url",
    Name = "name",
    Group = "group",
    Check = "check",
    Error = "error",
    ErrorCode = "error_code",
    TlsVersion = "tls_version",
    Scenario = "scenario",
    Service = "service",
    ExpectedResponse = "expected_response",
    Vu = "vu",
    Iter = "iter",
    Ip = "ip",
    OcspStatus = "ocsp_status",
}

/// A set of system tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SystemTagSet(u32);

impl Default for SystemTagSet {
    /// k6's default: every system tag but `vu`, `iter`, `ip` and `ocsp_status`.
    fn default() -> Self {
        SystemTagSet::of(&[
            SystemTag::Proto,
            SystemTag::Subproto,
            SystemTag::Status,
            SystemTag::Method,
            SystemTag::Url,
            SystemTag::Name,
            SystemTag::Group,
            SystemTag::Check,
            SystemTag::Error,
            SystemTag::ErrorCode,
            SystemTag::TlsVersion,
            SystemTag::Scenario,
            SystemTag::Service,
            SystemTag::ExpectedResponse,
        ])
    }
}

impl SystemTagSet {
    pub const NONE: SystemTagSet = SystemTagSet(0);

    pub fn of(tags: &[SystemTag]) -> SystemTagSet {
        SystemTagSet(tags.iter().fold(0, |m, t| m | 1 << *t as u8))
    }

    #[inline]
    pub fn has(self, tag: SystemTag) -> bool {
        self.0 & (1 << tag as u8) != 0
    }

    /// Parses k6's list of names (`field` names the option in errors).
    pub fn parse<'a>(
        names: impl IntoIterator<Item = &'a str>,
        field: &str,
    ) -> Result<SystemTagSet, ConfigError> {
        let mut set = SystemTagSet::NONE;
        for name in names.into_iter().map(str::trim).filter(|n| !n.is_empty()) {
            let tag = SystemTag::from_name(name).ok_or_else(|| {
                ConfigError::invalid(
                    field,
                    format!(
                        "{name:?} is not a system tag; the system tags are {}",
                        SystemTag::ALL
                            .iter()
                            .map(|t| t.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
            set.0 |= 1 << tag as u8;
        }
        Ok(set)
    }

    /// The names in the set, in k6's order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        SystemTag::ALL
            .iter()
            .filter(move |t| self.has(**t))
            .map(|t| t.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_refuses_unknown_ones() {
        let set = SystemTagSet::parse(["status", " method", ""], "systemTags").unwrap();
        assert!(set.has(SystemTag::Status) && set.has(SystemTag::Method));
        assert!(!set.has(SystemTag::Url));
        assert_eq!(set.names().collect::<Vec<_>>(), ["status", "method"]);
        let err = SystemTagSet::parse(["stauts"], "systemTags").unwrap_err();
        assert!(
            err.to_string().contains("\"stauts\" is not a system tag"),
            "{err}"
        );
        let d = SystemTagSet::default();
        assert!(
            d.has(SystemTag::ExpectedResponse) && !d.has(SystemTag::Vu) && !d.has(SystemTag::Ip)
        );
        assert_eq!(SystemTag::ALL.len(), 18);
    }
}
