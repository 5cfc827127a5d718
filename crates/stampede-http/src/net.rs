//! Where a request may go and which address it dials: k6's `hosts`, `blockHostnames`,
//! `blacklistIPs` and `dns` (ttl, select, policy).

use std::net::IpAddr;
use std::time::Duration;

use stampede_core::{DnsPolicy, DnsSelect};

use crate::error::{code, Failure};

/// What a `hosts` entry maps a name to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostTarget {
    Ip(IpAddr),
    /// Another name, looked up instead.
    Name(String),
}

/// One `hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRule {
    /// Lower case; `*.suffix` matches every name under `suffix`.
    pub pattern: String,
    /// Only requests to this port, if given.
    pub port: Option<u16>,
    pub target: HostTarget,
    /// The port to dial instead, if given.
    pub target_port: Option<u16>,
}

/// The network rules of a test (shared by every VU's client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetRules {
    pub hosts: Vec<HostRule>,
    /// `blockHostnames` patterns (lower case, `*.suffix` allowed).
    pub blocked_hostnames: Vec<String>,
    /// `blacklistIPs` ranges.
    pub blacklist: Vec<ipnet::IpNet>,
    /// How long a lookup is reused: `None` for the whole test, zero not at all.
    pub dns_ttl: Option<Duration>,
    pub select: DnsSelect,
    pub policy: DnsPolicy,
}

impl Default for NetRules {
    fn default() -> Self {
        Self {
            hosts: Vec::new(),
            blocked_hostnames: Vec::new(),
            blacklist: Vec::new(),
            dns_ttl: Some(Duration::from_secs(300)),
            select: DnsSelect::default(),
            policy: DnsPolicy::default(),
        }
    }
}

/// `*.suffix` matches the names under `suffix`; anything else only itself.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => name
            .strip_suffix(suffix)
            .is_some_and(|head| head.ends_with('.') && head.len() > 1),
        None => pattern == name,
    }
}

/// Splits `host:port` (an IPv6 literal only as `[..]:port`); the port must be a number.
pub fn split_host_port(s: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, "")) => (h, None),
            Some((h, p)) => (h, Some(p.strip_prefix(':').unwrap_or(p))),
            None => return Err(format!("{s}: missing ']'")),
        }
    } else if s.matches(':').count() == 1 {
        let (h, p) = s.split_once(':').unwrap_or((s, ""));
        (h, Some(p))
    } else {
        (s, None)
    };
    let port = port
        .map(|p| {
            p.parse::<u16>()
                .map_err(|_| format!("strconv.Atoi: parsing {p:?}: invalid syntax"))
        })
        .transpose()?;
    Ok((host, port))
}

impl HostRule {
    /// A `hosts` entry from the option's key and value.
    pub fn parse(name: &str, target: &str) -> Result<HostRule, String> {
        let (pattern, port) = split_host_port(name)?;
        let (to, target_port) = split_host_port(target)?;
        let target = match to.parse::<IpAddr>() {
            Ok(ip) => HostTarget::Ip(ip),
            Err(_) => HostTarget::Name(to.to_ascii_lowercase()),
        };
        Ok(HostRule {
            pattern: pattern.to_ascii_lowercase(),
            port,
            target,
            target_port,
        })
    }
}

impl NetRules {
    /// The pattern of `blockHostnames` that blocks `name`, if any.
    pub(crate) fn check_name(&self, name: &str) -> Result<(), Failure> {
        match self.blocked_hostnames.iter().find(|p| matches(p, name)) {
            Some(p) => Err(Failure {
                cause: Some(format!("hostname ({name}) is in a blocked pattern ({p})")),
                ..Failure::new(code::BLOCKED_HOSTNAME, "hostname is blocked")
            }),
            None => Ok(()),
        }
    }

    /// The `hosts` entry for `name` and `port`: an entry with the port wins over one without,
    /// an exact name over a wildcard.
    pub(crate) fn host_rule(&self, name: &str, port: u16) -> Option<&HostRule> {
        let rank = |r: &HostRule| {
            u8::from(r.port == Some(port)) * 2 + u8::from(!r.pattern.starts_with("*."))
        };
        self.hosts
            .iter()
            .filter(|r| r.port.is_none_or(|p| p == port) && matches(&r.pattern, name))
            .max_by_key(|r| rank(r))
    }

    /// An error if `ip` is in a `blacklistIPs` range.
    pub(crate) fn check_ip(&self, ip: IpAddr) -> Result<(), Failure> {
        match self.blacklist.iter().find(|net| net.contains(&ip)) {
            Some(net) => Err(Failure {
                cause: Some(format!("IP ({ip}) is in a blacklisted range ({net})")),
                ..Failure::new(code::BLACKLISTED_IP, "ip is blacklisted")
            }),
            None => Ok(()),
        }
    }

    /// The addresses of a lookup in the order a new connection takes them: those of the
    /// policy's families, the one `select` chooses first (`turn` counts the connections made
    /// to the name so far).
    pub(crate) fn pick(
        &self,
        name: &str,
        ips: &[IpAddr],
        turn: usize,
    ) -> Result<Vec<IpAddr>, Failure> {
        let (v4, v6): (Vec<IpAddr>, Vec<IpAddr>) = ips.iter().partition(|ip| ip.is_ipv4());
        let usable = match self.policy {
            DnsPolicy::PreferIpv4 if !v4.is_empty() => v4,
            DnsPolicy::PreferIpv4 => v6,
            DnsPolicy::PreferIpv6 if !v6.is_empty() => v6,
            DnsPolicy::PreferIpv6 => v4,
            DnsPolicy::OnlyIpv4 => v4,
            DnsPolicy::OnlyIpv6 => v6,
            DnsPolicy::Any => ips.to_vec(),
        };
        if usable.is_empty() {
            // k6's words and code when the policy leaves no address.
            return Err(Failure::new(
                code::GENERIC,
                format!("lookup {name}: no such host"),
            ));
        }
        let start = match self.select {
            DnsSelect::First => 0,
            DnsSelect::Random => fastrand::usize(..usable.len()),
            DnsSelect::RoundRobin => turn % usable.len(),
        };
        // The chosen one first, the others after it should it fail.
        let mut out = usable[start..].to_vec();
        out.extend_from_slice(&usable[..start]);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> NetRules {
        NetRules {
            hosts: vec![
                HostRule::parse("a.test", "127.0.0.1").unwrap(),
                HostRule::parse("a.test:81", "127.0.0.2:8081").unwrap(),
                HostRule::parse("*.w.test", "localhost").unwrap(),
            ],
            blocked_hostnames: vec!["x.test".into(), "*.y.test".into()],
            blacklist: vec!["127.0.0.8/30".parse().unwrap()],
            ..NetRules::default()
        }
    }

    #[test]
    fn hosts_blocks_and_ranges() {
        let r = rules();
        assert_eq!(r.host_rule("a.test", 80).unwrap().port, None);
        let with_port = r.host_rule("a.test", 81).unwrap();
        assert_eq!(with_port.target_port, Some(8081));
        assert_eq!(
            r.host_rule("b.w.test", 80).unwrap().target,
            HostTarget::Name("localhost".into())
        );
        assert!(r.host_rule("w.test", 80).is_none());
        assert!(r.check_name("x.test").is_err());
        assert!(r.check_name("z.y.test").is_err());
        assert!(r.check_name("y.test").is_ok());
        assert_eq!(
            r.check_ip("127.0.0.9".parse().unwrap()).unwrap_err().code,
            1110
        );
        assert!(r.check_ip("127.0.0.1".parse().unwrap()).is_ok());
        assert!(HostRule::parse("a", "1.2.3.4:x").is_err());
    }

    #[test]
    fn policy_and_select() {
        let ips: Vec<IpAddr> = vec![
            "::1".parse().unwrap(),
            "127.0.0.1".parse().unwrap(),
            "127.0.0.2".parse().unwrap(),
        ];
        let mut r = NetRules {
            select: DnsSelect::First,
            ..NetRules::default()
        };
        assert_eq!(r.pick("n", &ips, 0).unwrap()[0], ips[1]);
        r.policy = DnsPolicy::OnlyIpv6;
        assert_eq!(r.pick("n", &ips, 0).unwrap(), vec![ips[0]]);
        r.policy = DnsPolicy::Any;
        r.select = DnsSelect::RoundRobin;
        assert_eq!(r.pick("n", &ips, 4).unwrap()[0], ips[1]);
        r.policy = DnsPolicy::OnlyIpv6;
        assert!(r.pick("n", &ips[1..], 0).is_err());
    }
}
