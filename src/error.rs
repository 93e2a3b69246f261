//! Error reporting shared by every layer: [`error_chain`] writes an error and its causes on
//! one log line.
//!
//! Each layer has its own error type ([`crate::db::DbError`], [`crate::session::SessionError`],
//! [`crate::vision::AnalyzeError`], [`crate::startup::StartupError`]); only the web layer
//! turns them into HTTP responses ([`crate::web::error::AppError`]).

use std::error::Error as StdError;
use std::fmt::Write as _;

/// `error: cause: cause`, for one log line.
pub fn error_chain(error: &dyn StdError) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(out, ": {cause}");
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_chain_is_one_line_with_every_cause() {
        let error = Outer(std::io::Error::other("inner"));
        assert_eq!(error_chain(&error), "outer: inner");
    }
}
