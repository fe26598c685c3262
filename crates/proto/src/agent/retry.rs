//! The opt-in safe retry (our addition; Node never retries, CLI-24).

use super::PoolOptions;

/// What is known about an exchange that failed, for [`retry_decision`].
///
/// The client machine knows all of it: whether its socket came from the free list
/// ([`crate::agent::Action::Assign`]'s `reused`), and how many bytes went each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FailedExchange {
    /// The request ran on a socket taken from the free list (`req.reusedSocket`).
    pub reused_socket: bool,
    /// The failure is the connection going away: EOF or reset (`ECONNRESET`,
    /// `socket hang up`, `EPIPE`). Timeouts, parse errors, aborts and connect
    /// failures are not.
    pub connection_lost: bool,
    /// At least one byte of the request was handed to the socket.
    pub request_bytes_written: bool,
    /// At least one byte of a response arrived.
    pub response_bytes_received: bool,
    /// The method is idempotent (RFC 9110 §9.2.2, [`is_idempotent`]).
    pub idempotent: bool,
    /// The body can be sent again (none, or held in full by the caller).
    pub body_replayable: bool,
    /// This exchange is already a retry.
    pub retried: bool,
}

/// The answer of [`retry_decision`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Report the error to the application, as Node does.
    No,
    /// Send the request again, once, on a new connection: pass
    /// [`crate::agent::RequestOptions::fresh`] to
    /// [`crate::agent::Pool::request_with`].
    FreshConnection,
}

/// Whether a failed exchange may be retried (robustness need #1). Off unless
/// [`PoolOptions::retry`] is set. Retries at most once, and only when the connection
/// was lost before any response byte arrived and either
/// * the socket was reused and no request byte was written (the stale-connection
///   race: the server cannot have seen the request), or
/// * the method is idempotent and the body is replayable (RFC 9110 §9.2.2).
///
/// ```
/// use courier_proto::agent::{retry_decision, FailedExchange, PoolOptions, Retry};
/// let stale = FailedExchange { reused_socket: true, connection_lost: true, ..Default::default() };
/// assert_eq!(retry_decision(&PoolOptions::default(), &stale), Retry::No);
/// let on = PoolOptions { retry: true, ..Default::default() };
/// assert_eq!(retry_decision(&on, &stale), Retry::FreshConnection);
/// ```
pub fn retry_decision(options: &PoolOptions, failed: &FailedExchange) -> Retry {
    let unseen = failed.reused_socket && !failed.request_bytes_written;
    let replayable = failed.idempotent && failed.body_replayable;
    if options.retry
        && !failed.retried
        && failed.connection_lost
        && !failed.response_bytes_received
        && (unseen || replayable)
    {
        Retry::FreshConnection
    } else {
        Retry::No
    }
}

/// Whether a method (as sent, upper-case) is idempotent by RFC 9110 §9.2.2: `GET`,
/// `HEAD`, `OPTIONS`, `TRACE`, `PUT`, `DELETE`.
pub fn is_idempotent(method: &[u8]) -> bool {
    matches!(
        method,
        b"GET" | b"HEAD" | b"OPTIONS" | b"TRACE" | b"PUT" | b"DELETE"
    )
}
