//! The errors a client request reports (CLI-20 … CLI-22).

use core::fmt;

use crate::error::Error;

/// Why a request failed: the value of Node's request `'error'` event.
///
/// [`ClientError::code`] is Node's `err.code`, [`fmt::Display`] its `err.message`.
///
/// ```
/// use courier_proto::client::ClientError;
/// assert_eq!(ClientError::HangUp.code(), "ECONNRESET");
/// assert_eq!(ClientError::HangUp.to_string(), "socket hang up");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The response did not parse (`HPE_*`, message `Parse Error: <reason>`, CLI-20).
    Parse(Error),
    /// The connection ended or was destroyed before a response arrived:
    /// `ECONNRESET`, `socket hang up` (CLI-20, CLI-21, CLI-24).
    HangUp,
    /// An error of the transport, reported by the adapter (`read ECONNRESET`,
    /// `connect ECONNREFUSED 127.0.0.1:1`, `write EPIPE`), or the error the
    /// application passed to `destroy(err)`.
    Io {
        /// Node's code (`ECONNRESET`, `ECONNREFUSED`, `EPIPE`, …).
        code: Box<str>,
        /// Node's message.
        message: Box<str>,
    },
    /// The request's `AbortSignal` fired: `ABORT_ERR`, `The operation was aborted`
    /// (CLI-22).
    AbortSignal,
}

impl ClientError {
    /// A transport or application error with Node's code and message.
    pub fn io(code: &str, message: &str) -> Self {
        Self::Io {
            code: code.into(),
            message: message.into(),
        }
    }

    /// Node's `err.code`.
    pub fn code(&self) -> &str {
        match self {
            Self::Parse(e) => e.code(),
            Self::HangUp => "ECONNRESET",
            Self::Io { code, .. } => code,
            Self::AbortSignal => "ABORT_ERR",
        }
    }

    /// The error was the connection going away (EOF, reset, broken pipe): the
    /// condition under which a retry can be safe (CLI-24, robustness need #1).
    pub fn is_connection_lost(&self) -> bool {
        match self {
            Self::HangUp => true,
            Self::Io { code, .. } => matches!(&**code, "ECONNRESET" | "EPIPE" | "ECONNABORTED"),
            _ => false,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(e) => write!(f, "Parse Error: {}", e.reason()),
            Self::HangUp => f.write_str("socket hang up"),
            Self::Io { message, .. } => f.write_str(message),
            Self::AbortSignal => f.write_str("The operation was aborted"),
        }
    }
}

impl std::error::Error for ClientError {}
