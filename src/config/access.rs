//! `FOCUS_ACCESS_TOKEN`: the shared secret that lets a browser or script on the network in.
//!
//! On loopback (the default) the app is for this machine only and needs no token. Listening on
//! any other address opens it to the network, so start-up refuses to do that without a token
//! (see [`crate::startup`]); once a token is set, every request must carry it, on any address
//! (the pages ask for it once and keep it in a cookie; scripts send `Authorization: Bearer`).
//! The checks are in `web::access`.

use std::fmt;

use subtle::ConstantTimeEq;

/// Name of the variable that sets the token.
pub const ACCESS_TOKEN_VAR: &str = "FOCUS_ACCESS_TOKEN";

/// Shortest token accepted: 16 characters, e.g. `openssl rand -hex 16` gives 32. Anyone on
/// the network can try tokens as fast as the server answers; 16 random characters put that
/// out of reach, a word or a PIN does not.
pub const MIN_TOKEN_CHARS: usize = 16;

/// Longest token accepted: it travels in a cookie and a header on every request.
pub const MAX_TOKEN_CHARS: usize = 256;

/// A validated access token. `Debug` prints `[redacted]`; compare with [`AccessToken::matches`].
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// Checks a token as set in the environment: 16 to 256 characters, printable ASCII that a
    /// cookie can carry unquoted (no spaces, `"`, `,`, `;` or `\`). The message never quotes
    /// the value.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let length = raw.chars().count();
        if length < MIN_TOKEN_CHARS {
            return Err(format!(
                "the token has {length} characters; use at least {MIN_TOKEN_CHARS} random ones \
                 (e.g. the output of `openssl rand -hex 16`)"
            ));
        }
        if length > MAX_TOKEN_CHARS {
            return Err(format!(
                "the token has {length} characters; use at most {MAX_TOKEN_CHARS}"
            ));
        }
        if !raw.bytes().all(is_cookie_octet) {
            return Err(
                "the token may hold only letters, digits and punctuation other than \
                 \" , ; and \\ (no spaces); e.g. the output of `openssl rand -hex 16`"
                    .to_owned(),
            );
        }
        Ok(AccessToken(raw.to_owned()))
    }

    /// Whether `candidate` is this token. Takes the same time wherever the two first differ,
    /// so the answer's timing does not give the token away a character at a time.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }

    /// The token itself, for the cookie the server sets when a page has proved it knows it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(focus_notify::REDACTED)
    }
}

/// RFC 6265's `cookie-octet`: printable ASCII without space, `"`, `,`, `;` and `\`.
fn is_cookie_octet(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_for_length_and_cookie_safe_characters() {
        let good = "0123456789abcdef";
        assert!(AccessToken::parse(good).is_ok());
        assert!(
            AccessToken::parse(&format!("  {good}\n")).is_ok(),
            "trimmed"
        );
        assert!(AccessToken::parse("A-b_c.d~e+f/g=h!i*j").is_ok());
        for bad in [
            "",
            "short",
            "0123456789abcde",
            "0123456789 abcdef",
            "0123456789abcdef;x",
            "0123456789abcdef,x",
            "0123456789\"abcdef",
            "0123456789\\abcdef",
            "0123456789abcdéfg",
        ] {
            let error = AccessToken::parse(bad).expect_err(bad);
            assert!(bad.is_empty() || !error.contains(bad), "{error}");
        }
        assert!(AccessToken::parse(&"x".repeat(MAX_TOKEN_CHARS)).is_ok());
        assert!(AccessToken::parse(&"x".repeat(MAX_TOKEN_CHARS + 1)).is_err());
    }

    #[test]
    fn only_the_whole_token_matches_and_debug_hides_it() {
        let token = AccessToken::parse("0123456789abcdef").expect("valid");
        assert!(token.matches("0123456789abcdef"));
        for other in [
            "",
            "0123456789abcde",
            "0123456789abcdef0",
            "0123456789ABCDEF",
        ] {
            assert!(!token.matches(other), "{other}");
        }
        assert_eq!(format!("{token:?}"), "[redacted]");
    }
}
