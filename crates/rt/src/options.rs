//! `http.createServer(options)`: every option, with Node v20's defaults (SRV-1, CONST-6).

use core::time::Duration;
use std::sync::Arc;

use courier_proto::server::{ConfigError, ServerConfig};
use courier_proto::{MAX_HEADER_SIZE, ParserConfig};

/// The options of `http.createServer(options)` and the server properties Node lets
/// the application set before listening (`timeout`, `maxHeadersCount`,
/// `maxRequestsPerSocket`, `httpAllowHalfOpen`).
///
/// `Default` is `http.createServer()` with no options (CONST-6). A zero duration turns
/// the corresponding timer off, as `0` does in Node. Node's range checks on numbers
/// are the types' own (durations and sizes cannot be negative); the one check left,
/// `headersTimeout <= requestTimeout`, happens in [`ServerOptions::to_config`].
///
/// ```
/// use core::time::Duration;
/// use courier_rt::ServerOptions;
///
/// let opts = ServerOptions { request_timeout: Duration::from_secs(10), ..ServerOptions::default() };
/// assert_eq!(opts.to_config()?.headers_timeout(), Duration::from_secs(10));
///
/// let bad = ServerOptions { headers_timeout: Some(Duration::from_secs(20)), ..opts };
/// assert_eq!(bad.to_config().unwrap_err().code(), "ERR_OUT_OF_RANGE");
/// # Ok::<(), courier_proto::server::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// `insecureHTTPParser`: every llhttp leniency on (PRS-30). Default false.
    pub insecure_http_parser: bool,
    /// `maxHeaderSize`: the header byte budget (PRS-21). Default 16384.
    pub max_header_size: usize,
    /// `server.maxHeadersCount`: header lines per message; 0 = unlimited. Default 1000
    /// (the limit Node v20 applies, CONST-4).
    pub max_headers_count: usize,
    /// `requireHostHeader` (SRV-4). Default true.
    pub require_host_header: bool,
    /// `joinDuplicateHeaders` (MSG-4). Default false.
    pub join_duplicate_headers: bool,
    /// `keepAliveTimeout` (SRV-18). Default 5 s.
    pub keep_alive_timeout: Duration,
    /// `headersTimeout`; `None` = `min(60 s, requestTimeout)` (SRV-17).
    pub headers_timeout: Option<Duration>,
    /// `requestTimeout` (SRV-17). Default 300 s.
    pub request_timeout: Duration,
    /// `connectionsCheckingInterval` (SRV-17). Default 30 s.
    pub connections_checking_interval: Duration,
    /// `server.timeout`: socket inactivity (SRV-19). Default 0 (off).
    pub timeout: Duration,
    /// `server.maxRequestsPerSocket`; 0 = unlimited (SRV-5).
    pub max_requests_per_socket: u32,
    /// `server.httpAllowHalfOpen` (SRV-16). Default false.
    pub http_allow_half_open: bool,
    /// `uniqueHeaders`: names sent at most once (RES-12).
    pub unique_headers: Vec<String>,
    /// `rejectNonStandardBodyWrites` (RES-16). Default false.
    pub reject_non_standard_body_writes: bool,
    /// `highWaterMark`: unsent response bytes above which `write` waits, and queued
    /// request-body bytes above which the connection stops reading. Default 16 KiB
    /// (Node's stream default).
    pub high_water_mark: usize,
    /// `noDelay`: `TCP_NODELAY` on accepted sockets. Default true.
    pub no_delay: bool,
    /// `keepAlive`: TCP keep-alive on accepted sockets. Default false.
    pub keep_alive: bool,
    /// `keepAliveInitialDelay` for [`ServerOptions::keep_alive`]. Default 0 (the
    /// system's value).
    pub keep_alive_initial_delay: Duration,
    /// Requests dispatched but not answered after which a connection stops parsing
    /// pipelined requests (ours; Node has no bound). Default 16.
    pub max_pipelined: usize,
    /// Bytes of a request body that nobody reads which are discarded after its
    /// response finished, before the connection is closed instead (MSG-12). Default 64 KiB.
    pub drain_budget: u64,
}

impl Default for ServerOptions {
    fn default() -> Self {
        let base = ServerConfig::default();
        Self {
            insecure_http_parser: false,
            max_header_size: MAX_HEADER_SIZE,
            max_headers_count: base.parser.max_headers_count,
            require_host_header: base.require_host_header,
            join_duplicate_headers: base.join_duplicate_headers,
            keep_alive_timeout: base.keep_alive_timeout,
            headers_timeout: base.headers_timeout,
            request_timeout: base.request_timeout,
            connections_checking_interval: base.connections_checking_interval,
            timeout: base.timeout,
            max_requests_per_socket: base.max_requests_per_socket,
            http_allow_half_open: base.http_allow_half_open,
            unique_headers: Vec::new(),
            reject_non_standard_body_writes: base.reject_non_standard_body_writes,
            high_water_mark: 16 * 1024,
            no_delay: true,
            keep_alive: false,
            keep_alive_initial_delay: Duration::ZERO,
            max_pipelined: base.max_pipelined,
            drain_budget: base.drain_budget,
        }
    }
}

impl ServerOptions {
    /// The connection machine's configuration, validated as Node validates the
    /// options at construction (SRV-1).
    pub fn to_config(&self) -> Result<ServerConfig, ConfigError> {
        let mut parser = if self.insecure_http_parser {
            ParserConfig::insecure()
        } else {
            ParserConfig::default()
        };
        parser.max_header_size = self.max_header_size;
        parser.max_headers_count = self.max_headers_count;
        let unique: Vec<Box<str>> = self
            .unique_headers
            .iter()
            .map(|n| n.to_ascii_lowercase().into_boxed_str())
            .collect();
        let cfg = ServerConfig {
            parser,
            require_host_header: self.require_host_header,
            max_requests_per_socket: self.max_requests_per_socket,
            keep_alive_timeout: self.keep_alive_timeout,
            headers_timeout: self.headers_timeout,
            request_timeout: self.request_timeout,
            connections_checking_interval: self.connections_checking_interval,
            timeout: self.timeout,
            http_allow_half_open: self.http_allow_half_open,
            join_duplicate_headers: self.join_duplicate_headers,
            unique_headers: Arc::from(unique),
            reject_non_standard_body_writes: self.reject_non_standard_body_writes,
            max_pipelined: self.max_pipelined,
            high_water_mark: self.high_water_mark,
            drain_budget: self.drain_budget,
            ..ServerConfig::default()
        };
        cfg.validate()?;
        Ok(cfg)
    }
}
