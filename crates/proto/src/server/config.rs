//! Server options with Node v20's defaults (CONST-6, SRV-1, SRV-2).

use core::fmt;
use core::time::Duration;
use std::sync::Arc;

use crate::config::ParserConfig;

/// Which of Node's optional server events the application handles. Node decides
/// several things by whether a listener exists; the machine decides them from these
/// flags (SRV-6, SRV-8, SRV-9, SRV-11, SRV-19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Listeners {
    /// `'checkContinue'`: `Expect: 100-continue` requests go to the application
    /// instead of an automatic `100 Continue` (SRV-6).
    pub check_continue: bool,
    /// `'checkExpectation'`: other `Expect` values go to the application instead of
    /// an automatic 417 (SRV-6).
    pub check_expectation: bool,
    /// `'upgrade'`: upgrade requests leave HTTP (SRV-8); without it they are ordinary
    /// requests.
    pub upgrade: bool,
    /// `'connect'`: CONNECT requests are handed over (SRV-9); without it the
    /// connection is closed with no bytes written.
    pub connect: bool,
    /// `'clientError'`: the application owns the connection after a client error;
    /// the machine writes nothing and does not close (SRV-11).
    pub client_error: bool,
    /// `'timeout'` on the server: inactivity does not close the connection (SRV-19).
    pub timeout: bool,
}

/// Options of one server, shared by its connections.
///
/// `Default` is `http.createServer()` with no options (CONST-6). Durations of zero
/// turn the corresponding timer off, as `0` does in Node.
///
/// ```
/// use core::time::Duration;
/// use courier_proto::server::ServerConfig;
///
/// let cfg = ServerConfig::default();
/// assert_eq!(cfg.headers_timeout(), Duration::from_secs(60));
/// let short = ServerConfig { request_timeout: Duration::from_secs(10), ..ServerConfig::default() };
/// assert_eq!(short.headers_timeout(), Duration::from_secs(10)); // min(60 s, requestTimeout)
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Parser limits and leniency: `maxHeaderSize`, `maxHeadersCount`, `insecureHTTPParser`.
    pub parser: ParserConfig,
    /// `requireHostHeader` (SRV-4). Default true.
    pub require_host_header: bool,
    /// `maxRequestsPerSocket`; 0 = unlimited (SRV-5).
    pub max_requests_per_socket: u32,
    /// `keepAliveTimeout` (SRV-18). Default 5 s; zero disables the timer and the
    /// `Keep-Alive` field.
    pub keep_alive_timeout: Duration,
    /// `headersTimeout`; `None` = Node's default, `min(60 s, requestTimeout)` (SRV-17).
    pub headers_timeout: Option<Duration>,
    /// `requestTimeout` (SRV-17). Default 300 s.
    pub request_timeout: Duration,
    /// `connectionsCheckingInterval`: expiry of the two request timers is detected
    /// only at multiples of it from the checker's origin (SRV-17). Default 30 s.
    pub connections_checking_interval: Duration,
    /// `server.timeout`: socket inactivity (SRV-19). Default 0 (off).
    pub timeout: Duration,
    /// `httpAllowHalfOpen` (SRV-16). Default false.
    pub http_allow_half_open: bool,
    /// `joinDuplicateHeaders` (MSG-4), for the Node view of incoming headers.
    pub join_duplicate_headers: bool,
    /// `uniqueHeaders`, lower-cased (RES-12).
    pub unique_headers: Arc<[Box<str>]>,
    /// `rejectNonStandardBodyWrites` (RES-16).
    pub reject_non_standard_body_writes: bool,
    /// The events the application handles.
    pub listeners: Listeners,
    /// Requests dispatched but not yet answered after which the machine stops
    /// parsing further requests (pipelining bound). Default 16.
    pub max_pipelined: usize,
    /// Unsent response bytes above which `write` reports back-pressure and the machine
    /// stops asking for input. Default 64 KiB.
    pub high_water_mark: usize,
    /// Bytes of an unread request body the machine discards after its response
    /// finished before it closes the connection instead (MSG-12). Default 64 KiB.
    pub drain_budget: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            parser: ParserConfig::default(),
            require_host_header: true,
            max_requests_per_socket: 0,
            keep_alive_timeout: Duration::from_millis(5000),
            headers_timeout: None,
            request_timeout: Duration::from_millis(300_000),
            connections_checking_interval: Duration::from_millis(30_000),
            timeout: Duration::ZERO,
            http_allow_half_open: false,
            join_duplicate_headers: false,
            unique_headers: Arc::from(Vec::new()),
            reject_non_standard_body_writes: false,
            listeners: Listeners::default(),
            max_pipelined: 16,
            high_water_mark: 64 * 1024,
            drain_budget: 64 * 1024,
        }
    }
}

impl ServerConfig {
    /// The effective `headersTimeout`: the option, or `min(60 s, requestTimeout)`.
    pub fn headers_timeout(&self) -> Duration {
        self.headers_timeout
            .unwrap_or_else(|| self.request_timeout.min(Duration::from_secs(60)))
    }

    /// Node's construction-time check (SRV-1): with both timers on, `headersTimeout`
    /// must not exceed `requestTimeout`.
    ///
    /// ```
    /// use core::time::Duration;
    /// use courier_proto::server::ServerConfig;
    ///
    /// let cfg = ServerConfig {
    ///     headers_timeout: Some(Duration::from_millis(2000)),
    ///     request_timeout: Duration::from_millis(1000),
    ///     ..ServerConfig::default()
    /// };
    /// let err = cfg.validate().unwrap_err();
    /// assert_eq!(err.code(), "ERR_OUT_OF_RANGE");
    /// assert_eq!(
    ///     err.to_string(),
    ///     "The value of \"headersTimeout\" is out of range. It must be <= requestTimeout. Received 2000"
    /// );
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let h = self.headers_timeout();
        if !self.request_timeout.is_zero() && !h.is_zero() && h > self.request_timeout {
            return Err(ConfigError::HeadersTimeoutAboveRequestTimeout {
                headers_timeout_ms: h.as_millis(),
            });
        }
        Ok(())
    }
}

/// An invalid server option (SRV-1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `headersTimeout > requestTimeout` with both non-zero (`ERR_OUT_OF_RANGE`).
    HeadersTimeoutAboveRequestTimeout {
        /// The offending `headersTimeout`, in milliseconds.
        headers_timeout_ms: u128,
    },
}

impl ConfigError {
    /// Node's error code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::HeadersTimeoutAboveRequestTimeout { .. } => "ERR_OUT_OF_RANGE",
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HeadersTimeoutAboveRequestTimeout { headers_timeout_ms } => write!(
                f,
                "The value of \"headersTimeout\" is out of range. It must be <= requestTimeout. Received {headers_timeout_ms}"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
