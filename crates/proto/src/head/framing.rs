//! The body-framing decision, for requests and responses alike.
//!
//! This is what llhttp decides when a head is complete (its native
//! `before_headers_complete`, `after_headers_complete`, `message_needs_eof` and
//! `should_keep_alive`), plus the two decisions Node's `http` layer adds on top: a
//! response to `HEAD` and an interim (1xx) response have no body (PRS-17, CLI-15).

use super::scan::flags as F;
use super::{BodyKind, ConnectionTokens, Version};
use crate::config::Lenient;
use crate::error::ErrorKind;

/// Whether a response may carry a body: never for a response to `HEAD`, nor for 1xx,
/// 204 and 304 (PRS-17 for incoming responses, RES-16 for outgoing ones). The parser
/// and the outgoing-message encoder both decide with this function.
///
/// ```
/// use courier_proto::head::framing::response_body_allowed;
/// assert!(response_body_allowed(200, false));
/// assert!(!response_body_allowed(200, true));
/// assert!(!response_body_allowed(204, false));
/// assert!(!response_body_allowed(103, false));
/// ```
pub const fn response_body_allowed(status: u16, head_request: bool) -> bool {
    !(head_request || status / 100 == 1 || status == 204 || status == 304)
}

/// What a complete head says about framing, as the parser saw it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts {
    pub(crate) request: bool,
    pub(crate) flags: u16,
    pub(crate) content_length: u64,
    pub(crate) version: Version,
    pub(crate) connect_method: bool,
    pub(crate) status: u16,
    /// The body is skipped whatever the headers say (a response to HEAD, an interim
    /// response, or an upgrade Node takes over).
    pub(crate) skip_body: bool,
}

/// How the message continues after its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    /// llhttp's upgrade exit: the message ends with its head.
    UpgradeExit,
    /// No body.
    NoBody,
    /// A chunked body.
    Chunked,
    /// A body of this many bytes (> 0).
    Length(u64),
    /// A body that ends at EOF.
    Eof,
}

impl Facts {
    /// llhttp's `upgrade` (PRS-27): `Upgrade` + `Connection: upgrade` on a request or a
    /// 101 response; any CONNECT request.
    pub(crate) fn upgrade(&self) -> bool {
        if self.flags & F::UPGRADE != 0 && self.flags & F::CONN_UPGRADE != 0 {
            self.request || self.status == 101
        } else {
            self.request && self.connect_method
        }
    }

    /// `llhttp_message_needs_eof`.
    pub(crate) fn needs_eof(&self) -> bool {
        if self.request {
            return false;
        }
        if self.status / 100 == 1 || self.status == 204 || self.status == 304 || self.skip_body {
            return false;
        }
        if self.flags & F::TRANSFER_ENCODING != 0 && self.flags & F::CHUNKED == 0 {
            return true;
        }
        self.flags & (F::CHUNKED | F::CONTENT_LENGTH) == 0
    }

    /// `llhttp_should_keep_alive` (PRS-25).
    pub(crate) fn keep_alive(&self) -> bool {
        let asked = if self.version.is_keep_alive_default() {
            self.flags & F::CONN_CLOSE == 0
        } else {
            self.flags & F::CONN_KEEP_ALIVE != 0
        };
        asked && !self.needs_eof()
    }

    /// The `Connection` tokens the parser recognised (PRS-24).
    pub(crate) fn connection(&self) -> ConnectionTokens {
        ConnectionTokens {
            close: self.flags & F::CONN_CLOSE != 0,
            keep_alive: self.flags & F::CONN_KEEP_ALIVE != 0,
            upgrade: self.flags & F::CONN_UPGRADE != 0,
        }
    }

    /// `after_headers_complete` (PRS-13 … PRS-18): how the body is delimited, or the
    /// error for a request whose Transfer-Encoding cannot frame it.
    pub(crate) fn after_headers(
        &self,
        upgrade: bool,
        lenient: Lenient,
    ) -> Result<After, (ErrorKind, &'static str)> {
        let chunked = self.flags & F::CHUNKED != 0;
        let has_body = chunked || self.content_length > 0;
        if (upgrade && (self.connect_method || self.skip_body || !has_body))
            || (!self.request && self.status == 101)
        {
            return Ok(After::UpgradeExit);
        }
        if !self.request && self.status == 100 {
            return Ok(After::NoBody);
        }
        if self.skip_body || (!self.request && matches!(self.status, 102 | 103 | 204 | 304)) {
            return Ok(After::NoBody);
        }
        if chunked {
            return Ok(After::Chunked);
        }
        if self.flags & F::TRANSFER_ENCODING != 0 {
            if self.request && !lenient.chunked_length && !lenient.transfer_encoding {
                return Err((
                    ErrorKind::InvalidTransferEncoding,
                    "Request has invalid `Transfer-Encoding`",
                ));
            }
            return Ok(After::Eof);
        }
        if self.flags & F::CONTENT_LENGTH == 0 {
            return Ok(if self.needs_eof() {
                After::Eof
            } else {
                After::NoBody
            });
        }
        Ok(if self.content_length == 0 {
            After::NoBody
        } else {
            After::Length(self.content_length)
        })
    }

    /// The public summary of `after`.
    pub(crate) fn body_kind(after: After) -> BodyKind {
        match after {
            After::UpgradeExit | After::NoBody => BodyKind::None,
            After::Chunked => BodyKind::Chunked,
            After::Length(n) => BodyKind::Length(n),
            After::Eof => BodyKind::CloseDelimited,
        }
    }
}
