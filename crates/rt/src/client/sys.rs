//! Node's socket errors and connect-address choice, shared by the adapters'
//! connectors (runtime-neutral: no socket is opened here).

use std::io;
use std::net::{IpAddr, SocketAddr};

use courier_proto::client::ClientError;

use super::ConnectTarget;

/// Node's code for an I/O error (`ECONNREFUSED`, `ECONNRESET`, …).
pub fn error_code(e: &io::Error) -> &'static str {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "ECONNREFUSED",
        K::ConnectionReset => "ECONNRESET",
        K::ConnectionAborted => "ECONNABORTED",
        K::BrokenPipe => "EPIPE",
        K::NotFound => "ENOENT",
        K::PermissionDenied => "EACCES",
        K::TimedOut => "ETIMEDOUT",
        K::AddrInUse => "EADDRINUSE",
        K::AddrNotAvailable => "EADDRNOTAVAIL",
        K::HostUnreachable => "EHOSTUNREACH",
        K::NetworkUnreachable => "ENETUNREACH",
        K::InvalidInput => "EINVAL",
        _ => "EIO",
    }
}

/// Node's error for a failed socket call: `syscall CODE detail`
/// (`connect ECONNREFUSED 127.0.0.1:1`, `read ECONNRESET`).
pub fn sys_error(syscall: &str, e: &io::Error, detail: &str) -> ClientError {
    let code = error_code(e);
    let message = if detail.is_empty() {
        format!("{syscall} {code}")
    } else {
        format!("{syscall} {code} {detail}")
    };
    ClientError::io(code, &message)
}

/// Node's `getaddrinfo ENOTFOUND host`.
pub fn not_found(host: &str) -> ClientError {
    ClientError::io("ENOTFOUND", &format!("getaddrinfo ENOTFOUND {host}"))
}

/// The target's host as an IP address, when it is one (Node then ignores `family`
/// and does not resolve).
pub fn literal_addr(target: &ConnectTarget) -> Option<SocketAddr> {
    target
        .host
        .parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, target.port))
}

/// The resolved addresses of `target.host` a connector tries, in order: those of
/// the `family` asked for and of the local address's family. Fails with
/// `ENOTFOUND` when none is left.
pub fn filter_resolved(
    target: &ConnectTarget,
    resolved: impl IntoIterator<Item = SocketAddr>,
) -> Result<Vec<SocketAddr>, ClientError> {
    let addrs: Vec<SocketAddr> = resolved
        .into_iter()
        .filter(|a| match target.family {
            Some(4) => a.is_ipv4(),
            Some(6) => a.is_ipv6(),
            _ => true,
        })
        .filter(|a| match target.local_address {
            Some(IpAddr::V4(_)) => a.is_ipv4(),
            Some(IpAddr::V6(_)) => a.is_ipv6(),
            None => true,
        })
        .collect();
    if addrs.is_empty() {
        return Err(not_found(&target.host));
    }
    Ok(addrs)
}
