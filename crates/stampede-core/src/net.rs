//! k6's network options as the options give them: `hosts`, `blockHostnames`, `blacklistIPs`,
//! `dns`, `tlsVersion`, `tlsCipherSuites` and `tlsAuth`. Their form is checked here (with
//! k6's messages where k6 has one); stampede-http turns them into its resolver rules and TLS
//! configuration, and refuses what rustls can't do.

use std::time::Duration;

use serde_json::Value;

use crate::{parse_go_duration, ConfigError};

/// The network options one source sets (`None`: not set by it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetOptions {
    /// `hosts`: a host name (`name` or `name:port`, `*.suffix` for every subdomain) to an IP
    /// address or another host name, either with an optional `:port`.
    pub hosts: Option<Vec<(String, String)>>,
    /// `blockHostnames`: exact names or `*.suffix` patterns.
    pub block_hostnames: Option<Vec<String>>,
    /// `blacklistIPs`: CIDR ranges.
    pub blacklist_ips: Option<Vec<ipnet::IpNet>>,
    pub dns: Dns,
    /// `tlsVersion`: (min, max), each e.g. `tls1.2`; a plain string sets both.
    pub tls_version: Option<(Option<String>, Option<String>)>,
    /// `tlsCipherSuites`: Go's names of the suites.
    pub tls_cipher_suites: Option<Vec<String>>,
    pub tls_auth: Option<Vec<TlsAuth>>,
}

/// `dns`: each part set on its own, as k6 merges them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dns {
    /// How long a lookup is reused: `Some(None)` is `inf` (for the whole test).
    pub ttl: Option<Option<Duration>>,
    pub select: Option<DnsSelect>,
    pub policy: Option<DnsPolicy>,
}

/// Which of a name's addresses a connection uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsSelect {
    First,
    /// k6's default.
    #[default]
    Random,
    RoundRobin,
}

/// Which address families a name's addresses are taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsPolicy {
    /// k6's default: the IPv4 ones if there are any.
    #[default]
    PreferIpv4,
    PreferIpv6,
    OnlyIpv4,
    OnlyIpv6,
    Any,
}

/// One `tlsAuth` entry: a client certificate and its key (PEM).
#[derive(Debug, Clone, PartialEq)]
pub struct TlsAuth {
    pub domains: Vec<String>,
    pub cert: String,
    pub key: String,
    pub password: Option<String>,
}

impl NetOptions {
    /// Layers `other` over `self`, key by key (the parts of `dns` one by one).
    pub fn apply(&mut self, other: NetOptions) {
        macro_rules! take {
            ($($f:ident),*) => { $(if other.$f.is_some() { self.$f = other.$f; })* };
        }
        take!(
            hosts,
            block_hostnames,
            blacklist_ips,
            tls_version,
            tls_cipher_suites,
            tls_auth
        );
        if other.dns.ttl.is_some() {
            self.dns.ttl = other.dns.ttl;
        }
        if other.dns.select.is_some() {
            self.dns.select = other.dns.select;
        }
        if other.dns.policy.is_some() {
            self.dns.policy = other.dns.policy;
        }
    }

    /// Reads the network keys of an options object.
    pub fn from_json(obj: &serde_json::Map<String, Value>) -> Result<NetOptions, ConfigError> {
        let get = |k: &str| obj.get(k).filter(|v| !v.is_null());
        let mut o = NetOptions::default();
        if let Some(v) = get("hosts") {
            let map = v
                .as_object()
                .ok_or_else(|| ConfigError::invalid("hosts", "expected an object"))?;
            let mut hosts = Vec::new();
            for (name, target) in map {
                let target = target.as_str().ok_or_else(|| {
                    ConfigError::invalid(
                        "hosts",
                        format!("{name}: expected a string, got {target}"),
                    )
                })?;
                check_host_port(name, "hosts")?;
                check_host_port(target, "hosts")?;
                hosts.push((name.clone(), target.to_string()));
            }
            o.hosts = Some(hosts);
        }
        if let Some(v) = get("blockHostnames") {
            let list = strings(v, "blockHostnames")?;
            for p in &list {
                check_pattern(p)?;
            }
            o.block_hostnames = Some(list);
        }
        if let Some(v) = get("blacklistIPs") {
            o.blacklist_ips = Some(
                strings(v, "blacklistIPs")?
                    .iter()
                    .map(|s| parse_cidr(s))
                    .collect::<Result<_, _>>()?,
            );
        }
        if let Some(v) = get("dns") {
            let d = v
                .as_object()
                .ok_or_else(|| ConfigError::invalid("dns", "expected an object"))?;
            let part = |k: &str| d.get(k).filter(|v| !v.is_null());
            let text = |k: &str, v: &Value| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ConfigError::invalid("dns", format!("{k}: expected a string")))
            };
            if let Some(v) = part("ttl") {
                o.dns.ttl = Some(parse_ttl(&text("ttl", v)?)?);
            }
            if let Some(v) = part("select") {
                o.dns.select = Some(parse_select(&text("select", v)?)?);
            }
            if let Some(v) = part("policy") {
                o.dns.policy = Some(parse_policy(&text("policy", v)?)?);
            }
        }
        if let Some(v) = get("tlsVersion") {
            o.tls_version = Some(match v {
                Value::String(s) => (Some(s.clone()), Some(s.clone())),
                Value::Object(m) => {
                    let side = |k: &str| -> Result<Option<String>, ConfigError> {
                        match m.get(k) {
                            None | Some(Value::Null) => Ok(None),
                            Some(Value::String(s)) => Ok(Some(s.clone())),
                            Some(other) => Err(ConfigError::invalid(
                                "tlsVersion",
                                format!("{k}: expected a string, got {other}"),
                            )),
                        }
                    };
                    (side("min")?, side("max")?)
                }
                other => {
                    return Err(ConfigError::invalid(
                        "tlsVersion",
                        format!("expected a string or {{min, max}}, got {other}"),
                    ))
                }
            });
        }
        if let Some(v) = get("tlsCipherSuites") {
            o.tls_cipher_suites = Some(strings(v, "tlsCipherSuites")?);
        }
        if let Some(v) = get("tlsAuth") {
            let list = v
                .as_array()
                .ok_or_else(|| ConfigError::invalid("tlsAuth", "expected an array"))?;
            let mut auths = Vec::new();
            for (i, a) in list.iter().enumerate() {
                let field = |k: &str| -> Result<Option<String>, ConfigError> {
                    match a.get(k) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) => Ok(Some(s.clone())),
                        Some(other) => Err(ConfigError::invalid(
                            format!("tlsAuth[{i}].{k}"),
                            format!("expected a string, got {other}"),
                        )),
                    }
                };
                let required = |k: &str| {
                    field(k)?
                        .ok_or_else(|| ConfigError::invalid(format!("tlsAuth[{i}].{k}"), "missing"))
                };
                auths.push(TlsAuth {
                    domains: match a.get("domains") {
                        None | Some(Value::Null) => Vec::new(),
                        Some(d) => strings(d, &format!("tlsAuth[{i}].domains"))?,
                    },
                    cert: required("cert")?,
                    key: required("key")?,
                    password: field("password")?,
                });
            }
            o.tls_auth = Some(auths);
        }
        Ok(o)
    }

    /// The network keys' `K6_*` variables: `K6_DNS` (`ttl=1m,select=first,policy=any`),
    /// `K6_BLACKLIST_IPS`, `K6_BLOCK_HOSTNAMES` and `K6_TLS_CIPHER_SUITES` (comma-separated).
    /// Returns whether `name` (without `K6_`) was one of them.
    pub fn from_env(&mut self, name: &str, value: &str) -> Result<bool, ConfigError> {
        let list = || -> Vec<String> {
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let var = format!("K6_{name}");
        match name {
            "DNS" => {
                for part in value.split(',').filter(|p| !p.trim().is_empty()) {
                    let (k, v) = part.split_once('=').ok_or_else(|| {
                        ConfigError::invalid(var.as_str(), format!("{part:?} is not key=value"))
                    })?;
                    match k.trim() {
                        "ttl" => self.dns.ttl = Some(parse_ttl(v.trim())?),
                        "select" => self.dns.select = Some(parse_select(v.trim())?),
                        "policy" => self.dns.policy = Some(parse_policy(v.trim())?),
                        other => {
                            return Err(ConfigError::invalid(
                                var.as_str(),
                                format!("unknown dns setting {other:?}"),
                            ))
                        }
                    }
                }
            }
            "BLACKLIST_IPS" => {
                self.blacklist_ips = Some(
                    list()
                        .iter()
                        .map(|s| parse_cidr(s))
                        .collect::<Result<_, _>>()?,
                )
            }
            "BLOCK_HOSTNAMES" => {
                let l = list();
                for p in &l {
                    check_pattern(p)?;
                }
                self.block_hostnames = Some(l);
            }
            "TLS_CIPHER_SUITES" => self.tls_cipher_suites = Some(list()),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>, ConfigError> {
    v.as_array()
        .ok_or_else(|| ConfigError::invalid(key, "expected an array of strings"))?
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_string)
                .ok_or_else(|| ConfigError::invalid(key, format!("{s} is not a string")))
        })
        .collect()
}

/// `name` or `name:port`, with a port k6's `strconv.Atoi` takes.
fn check_host_port(s: &str, key: &str) -> Result<(), ConfigError> {
    // An IPv6 literal has colons of its own: only `[..]:port` carries a port.
    let port = if let Some(rest) = s.strip_prefix('[') {
        rest.split_once("]:").map(|(_, p)| p)
    } else if s.matches(':').count() == 1 {
        s.split_once(':').map(|(_, p)| p)
    } else {
        None
    };
    match port {
        Some(p) if p.parse::<u16>().is_err() => Err(ConfigError::invalid(
            key,
            format!("{s}: strconv.Atoi: parsing {p:?}: invalid syntax"),
        )),
        _ => Ok(()),
    }
}

/// A `blockHostnames` pattern: a name, or `*.` and a name.
fn check_pattern(p: &str) -> Result<(), ConfigError> {
    let name = p.strip_prefix("*.").unwrap_or(p);
    if name.is_empty() || name.contains('*') {
        return Err(ConfigError::invalid(
            "blockHostnames",
            format!("invalid pattern {p:?}: only a leading \"*.\" wildcard is allowed"),
        ));
    }
    Ok(())
}

fn parse_cidr(s: &str) -> Result<ipnet::IpNet, ConfigError> {
    s.parse().map_err(|_| {
        ConfigError::invalid(
            "blacklistIPs",
            format!("failed to parse CIDR '{s}': invalid CIDR address: {s}"),
        )
    })
}

fn parse_ttl(s: &str) -> Result<Option<Duration>, ConfigError> {
    match s {
        "inf" => Ok(None),
        "0" => Ok(Some(Duration::ZERO)),
        _ => {
            // A bare number is milliseconds, as in k6.
            if let Ok(ms) = s.parse::<u64>() {
                return Ok(Some(Duration::from_millis(ms)));
            }
            parse_go_duration(s)
                .map(Some)
                .map_err(|e| ConfigError::invalid("dns", format!("ttl {s:?}: {e}")))
        }
    }
}

fn parse_select(s: &str) -> Result<DnsSelect, ConfigError> {
    Ok(match s {
        "first" => DnsSelect::First,
        "random" => DnsSelect::Random,
        "roundRobin" => DnsSelect::RoundRobin,
        _ => {
            return Err(ConfigError::invalid(
                "dns",
                format!("select {s:?}: expected first, random or roundRobin"),
            ))
        }
    })
}

fn parse_policy(s: &str) -> Result<DnsPolicy, ConfigError> {
    Ok(match s {
        "preferIPv4" => DnsPolicy::PreferIpv4,
        "preferIPv6" => DnsPolicy::PreferIpv6,
        "onlyIPv4" => DnsPolicy::OnlyIpv4,
        "onlyIPv6" => DnsPolicy::OnlyIpv6,
        "any" => DnsPolicy::Any,
        _ => {
            return Err(ConfigError::invalid(
                "dns",
                format!("policy {s:?}: expected preferIPv4, preferIPv6, onlyIPv4, onlyIPv6 or any"),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(v: Value) -> Result<NetOptions, ConfigError> {
        NetOptions::from_json(v.as_object().unwrap())
    }

    #[test]
    fn reads_every_key() {
        let o = parse(json!({
            "hosts": {"a.test": "127.0.0.1", "b.test:80": "127.0.0.1:8080", "*.w.test": "localhost"},
            "blockHostnames": ["x.test", "*.y.test"],
            "blacklistIPs": ["10.0.0.0/8", "::1/128"],
            "dns": {"ttl": "1m", "select": "roundRobin", "policy": "onlyIPv4"},
            "tlsVersion": {"min": "tls1.2"},
            "tlsCipherSuites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
            "tlsAuth": [{"domains": ["a.test"], "cert": "C", "key": "K"}],
        }))
        .unwrap();
        assert_eq!(o.hosts.unwrap().len(), 3);
        assert_eq!(o.blacklist_ips.unwrap().len(), 2);
        assert_eq!(o.dns.ttl, Some(Some(Duration::from_secs(60))));
        assert_eq!(o.dns.select, Some(DnsSelect::RoundRobin));
        assert_eq!(o.dns.policy, Some(DnsPolicy::OnlyIpv4));
        assert_eq!(o.tls_version, Some((Some("tls1.2".into()), None)));
        assert_eq!(o.tls_auth.unwrap()[0].domains, ["a.test"]);
    }

    #[test]
    fn refuses_bad_values_naming_them() {
        for (bad, says) in [
            (json!({"hosts": {"a": "1.2.3.4:notaport"}}), "notaport"),
            (
                json!({"blacklistIPs": ["notacidr"]}),
                "failed to parse CIDR 'notacidr'",
            ),
            (json!({"blockHostnames": ["a.*.b"]}), "a.*.b"),
            (json!({"dns": {"select": "best"}}), "best"),
            (json!({"dns": {"ttl": "soon"}}), "soon"),
            (json!({"tlsAuth": [{"cert": "C"}]}), "tlsAuth[0].key"),
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn env_and_layers() {
        let mut base = parse(json!({"dns": {"ttl": "1m", "select": "first"}})).unwrap();
        let mut env = NetOptions::default();
        assert!(env.from_env("DNS", "policy=any,select=random").unwrap());
        assert!(env.from_env("BLACKLIST_IPS", "127.0.0.2/32").unwrap());
        assert!(!env.from_env("VUS", "1").unwrap());
        base.apply(env);
        assert_eq!(base.dns.ttl, Some(Some(Duration::from_secs(60))));
        assert_eq!(base.dns.select, Some(DnsSelect::Random));
        assert_eq!(base.dns.policy, Some(DnsPolicy::Any));
        assert_eq!(base.blacklist_ips.unwrap().len(), 1);
    }
}
