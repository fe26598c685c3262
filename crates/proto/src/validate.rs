//! Header name and value validation (VAL-1 … VAL-3). Filled in by the validation work.

use core::fmt;

/// A header name or value that Node would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidHeader {
    code: &'static str,
    message: String,
}

impl InvalidHeader {
    /// Node's error code: `ERR_INVALID_HTTP_TOKEN`, `ERR_INVALID_CHAR` or `ERR_HTTP_INVALID_HEADER_VALUE`.
    pub fn code(&self) -> &'static str {
        self.code
    }
    /// Node's message text.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for InvalidHeader {}

pub(crate) fn check_name(_name: &[u8]) -> Result<(), InvalidHeader> {
    Ok(())
}

pub(crate) fn check_value(_name: &[u8], _value: &[u8]) -> Result<(), InvalidHeader> {
    Ok(())
}
