//! Node's `Agent` options (AGT-1, AGT-2, CONST-7) and our own pool options.

use core::fmt;
use core::time::Duration;

/// Which free socket a new request gets (AGT-5): Node's `scheduling` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scheduling {
    /// `'lifo'` (the default): the most recently freed socket.
    #[default]
    Lifo,
    /// `'fifo'`: the least recently freed socket.
    Fifo,
}

impl Scheduling {
    /// Parses Node's option value: exactly `"lifo"` or `"fifo"`, else
    /// `ERR_INVALID_ARG_VALUE` (AGT-1).
    ///
    /// ```
    /// use courier_proto::agent::Scheduling;
    /// assert_eq!(Scheduling::parse("fifo"), Ok(Scheduling::Fifo));
    /// assert_eq!(Scheduling::parse("LIFO").unwrap_err().code(), "ERR_INVALID_ARG_VALUE");
    /// ```
    pub fn parse(value: &str) -> Result<Self, AgentOptionsError> {
        match value {
            "lifo" => Ok(Self::Lifo),
            "fifo" => Ok(Self::Fifo),
            other => Err(AgentOptionsError::InvalidScheduling {
                received: other.to_owned(),
            }),
        }
    }

    /// Node's spelling, `"lifo"` or `"fifo"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Lifo => "lifo",
            Self::Fifo => "fifo",
        }
    }
}

/// The options of `new http.Agent(options)`, with Node's names and v20 defaults
/// (CONST-7). `AgentOptions::default()` is `new Agent()`; [`AgentOptions::global`] is
/// `http.globalAgent`.
///
/// Node replaces falsy values by the default (AGT-1); [`AgentOptions::normalized`]
/// does the same here: `keep_alive_msecs` zero → 1000 ms, `max_sockets` `Some(0)` →
/// unlimited, `max_free_sockets` 0 → 256. [`crate::agent::Pool::new`] normalizes for you.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentOptions {
    /// `keepAlive` (default false): keep sockets in the free list after a response.
    pub keep_alive: bool,
    /// `keepAliveMsecs` (default 1000 ms): the TCP keep-alive initial delay of agent
    /// sockets when `keep_alive` is on ([`AgentOptions::tcp_keep_alive`]).
    pub keep_alive_msecs: Duration,
    /// `maxSockets` (default `None` = `Infinity`): in-use plus connecting plus free
    /// sockets per key.
    pub max_sockets: Option<usize>,
    /// `maxFreeSockets` (default 256): free sockets kept per key.
    pub max_free_sockets: usize,
    /// `maxTotalSockets` (default `None` = `Infinity`): sockets of all keys together.
    /// `Some(0)` is `ERR_OUT_OF_RANGE`. Node's cap is leaky, see the module docs.
    pub max_total_sockets: Option<usize>,
    /// `scheduling` (default [`Scheduling::Lifo`]).
    pub scheduling: Scheduling,
    /// `timeout` (default `None` = undefined): the idle timeout of agent sockets, and
    /// the free-socket lifetime (AGT-8). `Some(ZERO)` behaves as none, except that
    /// it still wins over a request's `timeout` when a socket is created (AGT-11).
    pub timeout: Option<Duration>,
    /// `noDelay` (default true): Node disables Nagle on every agent socket.
    pub no_delay: bool,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            keep_alive: false,
            keep_alive_msecs: Duration::from_millis(1000),
            max_sockets: None,
            max_free_sockets: 256,
            max_total_sockets: None,
            scheduling: Scheduling::Lifo,
            timeout: None,
            no_delay: true,
        }
    }
}

impl AgentOptions {
    /// `http.globalAgent` of Node v20 (AGT-2): `new Agent({keepAlive: true,
    /// scheduling: 'lifo', timeout: 5000})`.
    pub fn global() -> Self {
        Self {
            keep_alive: true,
            timeout: Some(Duration::from_millis(5000)),
            ..Self::default()
        }
    }

    /// Applies Node's fallbacks for falsy values and checks `maxTotalSockets`
    /// (AGT-1).
    pub fn normalized(mut self) -> Result<Self, AgentOptionsError> {
        if self.keep_alive_msecs.is_zero() {
            self.keep_alive_msecs = Duration::from_millis(1000);
        }
        if self.max_sockets == Some(0) {
            self.max_sockets = None;
        }
        if self.max_free_sockets == 0 {
            self.max_free_sockets = 256;
        }
        if self.max_total_sockets == Some(0) {
            return Err(AgentOptionsError::MaxTotalSocketsOutOfRange { received: 0 });
        }
        Ok(self)
    }

    /// Whether requests through this agent are persistent-capable (CLI-11): the agent
    /// keeps sockets alive or limits `maxSockets`. Such requests send
    /// `Connection: keep-alive`, the others `Connection: close`.
    pub fn persistent_requests(&self) -> bool {
        self.keep_alive || matches!(self.max_sockets, Some(n) if n > 0)
    }

    /// The TCP keep-alive initial delay Node sets on new agent sockets:
    /// `keep_alive_msecs` when `keep_alive` is on (AGT-5 step 3, AGT-8).
    pub fn tcp_keep_alive(&self) -> Option<Duration> {
        self.keep_alive.then_some(self.keep_alive_msecs)
    }
}

/// Pool behaviour beyond Node's, all off by default (Node parity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolOptions {
    /// Allow one automatic retry of a failed exchange when it is provably safe
    /// ([`crate::agent::retry_decision`]). Node never retries.
    pub retry: bool,
    /// Give a socket taken from the free list the idle timeout a new socket would
    /// get, instead of keeping the (possibly hint-shortened) free-socket timeout as
    /// Node v20 does (node issue #53458).
    pub restore_timeout_on_reuse: bool,
}

/// An invalid agent option (AGT-1), with Node's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgentOptionsError {
    /// `maxTotalSockets` below 1 (`ERR_OUT_OF_RANGE`).
    MaxTotalSocketsOutOfRange {
        /// The value given.
        received: usize,
    },
    /// `scheduling` other than `'fifo'` / `'lifo'` (`ERR_INVALID_ARG_VALUE`).
    InvalidScheduling {
        /// The value given.
        received: String,
    },
}

impl AgentOptionsError {
    /// Node's error code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::MaxTotalSocketsOutOfRange { .. } => "ERR_OUT_OF_RANGE",
            Self::InvalidScheduling { .. } => "ERR_INVALID_ARG_VALUE",
        }
    }
}

impl fmt::Display for AgentOptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MaxTotalSocketsOutOfRange { received } => write!(
                f,
                "The value of \"maxTotalSockets\" is out of range. It must be >= 1. Received {received}"
            ),
            Self::InvalidScheduling { received } => write!(
                f,
                "The argument 'scheduling' must be one of: 'fifo', 'lifo'. Received '{received}'"
            ),
        }
    }
}

impl std::error::Error for AgentOptionsError {}
