//! Keeping credentials out of logs and stored errors.
//!
//! - [`Secret`]: the SMTP password and the Twilio auth token. `Debug` and
//!   `Display` print `[redacted]`, so a config struct can derive or print
//!   `Debug` freely. The only way to the value is [`Secret::expose`], which
//!   the senders call at the moment they authenticate.
//! - [`Scrubber`]: removes every form a credential can take in a server's
//!   reply (raw, percent-encoded, JSON-escaped, and base64 of any blob that
//!   holds it, such as `user:password` in an echoed `Authorization` header or
//!   the SMTP AUTH PLAIN blob) from an error message before it is stored or
//!   logged.
//! - [`redact_url_userinfo`]: hides the `user:password@` part of every URL in
//!   a text, for URLs that are logged (a proxy or public address given with
//!   credentials).

use std::fmt;

use base64::Engine as _;

/// What [`Secret`]'s `Debug` and `Display` print instead of the value.
pub const REDACTED: &str = "[redacted]";

/// A credential. Formats as `[redacted]`; read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself. Call it only where the value goes on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Finds credentials in text in every form a server could echo them, and
/// replaces them with `[redacted]`.
///
/// Forms covered for each secret (the password or token):
/// - the raw value, percent-encoded (upper- and lower-case hex, `+` or `%20`
///   for a space) and JSON-escaped;
/// - base64 (standard and URL-safe alphabets) of *any* data that contains it:
///   the secret alone (AUTH LOGIN), `user:secret` (HTTP basic auth),
///   `\0user\0secret` (AUTH PLAIN) or a whole echoed request. Base64 of data
///   that contains the secret holds, at one of three alignments, the encoding
///   of the secret's whole 3-byte groups; finding that core redacts the whole
///   base64 run around it. Secrets under 6 bytes are too short for a core and
///   are matched on the base64 of the usual blobs instead.
///
/// Secrets shorter than 4 bytes are left alone: scrubbing single letters
/// would garble every message, and they are not worth protecting.
#[derive(Clone, Default)]
pub struct Scrubber {
    /// Literal forms, longest first (so a longer form is replaced whole).
    literals: Vec<String>,
    /// Base64 cores: found inside a base64 run, the whole run goes.
    base64_cores: Vec<String>,
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scrubber")
            .field("forms", &(self.literals.len() + self.base64_cores.len()))
            .finish()
    }
}

/// Shortest secret the scrubber looks for.
const MIN_SECRET_LEN: usize = 4;
/// Shortest base64 core matched inside a run: 2 groups, 6 bytes of secret.
const MIN_CORE_LEN: usize = 8;

impl Scrubber {
    /// A scrubber that finds nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a credential: `secret` (the password or token) used with the
    /// login `user` (the SMTP username, the Twilio Account SID). The user
    /// alone is not secret and stays readable.
    pub fn with_credential(mut self, user: &str, secret: &str) -> Self {
        if secret.len() < MIN_SECRET_LEN {
            return self;
        }
        let mut literals = vec![
            secret.to_owned(),
            percent_encode(secret, false, false),
            percent_encode(secret, true, false),
            percent_encode(secret, false, true),
            percent_encode(secret, true, true),
            json_escape(secret),
        ];
        let engines = [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::URL_SAFE,
        ];
        for engine in &engines {
            // Whole blobs, for secrets too short to have a core.
            for blob in [
                secret.to_owned(),
                format!("{user}:{secret}"),
                format!("\0{user}\0{secret}"),
                format!("{user}\0{user}\0{secret}"),
            ] {
                let encoded = engine.encode(blob.as_bytes());
                literals.push(encoded.trim_end_matches('=').to_owned());
                literals.push(encoded);
            }
            for core in base64_cores(engine, secret.as_bytes()) {
                self.base64_cores.push(core);
            }
        }
        literals.retain(|l| l.len() >= MIN_SECRET_LEN);
        self.literals.extend(literals);
        self.literals.sort_by_key(|l| std::cmp::Reverse(l.len()));
        self.literals.dedup();
        self.base64_cores.sort();
        self.base64_cores.dedup();
        self
    }

    /// `text` with every form of every credential replaced by `[redacted]`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for core in &self.base64_cores {
            let mut from = 0;
            while let Some(found) = out.get(from..).and_then(|rest| rest.find(core.as_str())) {
                let at = from + found;
                let (start, end) = base64_run(&out, at, at + core.len());
                out.replace_range(start..end, REDACTED);
                from = start + REDACTED.len();
            }
        }
        for literal in &self.literals {
            if out.contains(literal.as_str()) {
                out = out.replace(literal.as_str(), REDACTED);
            }
        }
        out
    }
}

/// The base64 encodings of the secret's whole 3-byte groups, at the three
/// alignments the secret can have inside a longer blob: whatever surrounds
/// it, one of these appears in the blob's encoding.
fn base64_cores(engine: &base64::engine::GeneralPurpose, secret: &[u8]) -> Vec<String> {
    (0..3)
        .filter_map(|skip| {
            let rest = secret.get(skip..)?;
            let whole = rest.len() / 3 * 3;
            let core = engine.encode(&rest[..whole]);
            (core.len() >= MIN_CORE_LEN).then_some(core)
        })
        .collect()
}

/// The run of base64 characters (either alphabet, with padding) around
/// `start..end` of `text`.
fn base64_run(text: &str, start: usize, end: usize) -> (usize, usize) {
    let is_b64 = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_');
    let bytes = text.as_bytes();
    let mut from = start;
    while from > 0 && is_b64(bytes[from - 1]) {
        from -= 1;
    }
    let mut to = end;
    while to < bytes.len() && (is_b64(bytes[to]) || bytes[to] == b'=') {
        to += 1;
    }
    (from, to)
}

/// Percent-encodes every byte but the unreserved ones (RFC 3986), with
/// upper- or lower-case hex; `plus_for_space` writes a space as `+`, as
/// HTML forms do.
fn percent_encode(text: &str, lower: bool, plus_for_space: bool) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' if plus_for_space => out.push('+'),
            _ if lower => {
                let _ = write!(out, "%{byte:02x}");
            }
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

/// The text as it appears inside a JSON string.
fn json_escape(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(text)
        .to_owned()
}

/// `text` with the user-info part of every URL in it (`scheme://user:pass@`)
/// replaced by `[redacted]@`, for URLs that are logged or shown.
pub fn redact_url_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        // The authority ends at the first '/', '?', '#' or whitespace; a
        // user-info part ends at its last '@'.
        let authority_len = after
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..authority_len];
        match authority.rfind('@') {
            Some(userinfo_len) => {
                out.push_str(REDACTED);
                out.push_str(&authority[userinfo_len..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[authority_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_redacted() {
        let secret = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{secret:?}"), REDACTED);
        assert_eq!(format!("{secret}"), REDACTED);
        assert_eq!(
            format!("{:#?}", Some(secret.clone())),
            "Some(\n    [redacted],\n)"
        );
        assert_eq!(secret.expose(), "hunter2-very-secret");
    }

    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";

    fn b64(data: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(data)
    }

    fn assert_clean(scrubbed: &str, secret: &str) {
        assert!(!scrubbed.contains(secret), "{scrubbed}");
        assert!(scrubbed.contains(REDACTED), "{scrubbed}");
    }

    #[test]
    fn an_echoed_basic_auth_header_is_scrubbed() {
        let scrubber = Scrubber::new().with_credential(SID, TOKEN);
        let header = format!("Basic {}", b64(format!("{SID}:{TOKEN}").as_bytes()));
        let text = format!("Twilio answered HTTP 400 (you sent Authorization: {header}).");
        let scrubbed = scrubber.scrub(&text);
        assert_eq!(
            scrubbed,
            "Twilio answered HTTP 400 (you sent Authorization: Basic [redacted])."
        );
    }

    #[test]
    fn base64_of_any_blob_holding_the_secret_is_scrubbed_at_every_alignment() {
        let scrubber = Scrubber::new().with_credential("me@example.com", "pw-Very-Secret-1234");
        for prefix_len in 0..6 {
            let blob = format!("{}pw-Very-Secret-1234 and more", "x".repeat(prefix_len));
            for encoded in [
                b64(blob.as_bytes()),
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(blob.as_bytes()),
            ] {
                let scrubbed = scrubber.scrub(&format!("echo: {encoded} end"));
                assert_eq!(scrubbed, format!("echo: {REDACTED} end"), "{blob}");
            }
        }
        // AUTH PLAIN and AUTH LOGIN.
        let plain = b64(b"\0me@example.com\0pw-Very-Secret-1234");
        let login = b64(b"pw-Very-Secret-1234");
        let scrubbed = scrubber.scrub(&format!("535 {plain} / 334 {login}"));
        assert_eq!(scrubbed, format!("535 {REDACTED} / 334 {REDACTED}"));
    }

    #[test]
    fn percent_encoded_and_json_escaped_forms_are_scrubbed() {
        let secret = "p@ss w/rd\"100%";
        let scrubber = Scrubber::new().with_credential("me", secret);
        for form in [
            "p%40ss%20w%2Frd%22100%25",
            "p%40ss+w%2Frd%22100%25",
            "p%40ss%20w%2frd%22100%25",
            r#"p@ss w/rd\"100%"#,
            secret,
        ] {
            let scrubbed = scrubber.scrub(&format!("url=https://x/?p={form}&y=1"));
            assert_eq!(
                scrubbed,
                format!("url=https://x/?p={REDACTED}&y=1"),
                "{form}"
            );
        }
    }

    #[test]
    fn short_secrets_match_their_usual_blobs_and_tiny_ones_are_left_alone() {
        let scrubber = Scrubber::new().with_credential("sid", "abcd");
        let basic = b64(b"sid:abcd");
        assert_eq!(
            scrubber.scrub(&format!("abcd {basic}")),
            format!("{REDACTED} {REDACTED}")
        );
        let tiny = Scrubber::new().with_credential("sid", "abc");
        assert_eq!(tiny.scrub("abc"), "abc");
    }

    #[test]
    fn scrubbing_terminates_and_leaves_other_text_alone() {
        // A secret whose base64 core spells "redacted" must not loop on its
        // own replacement.
        let secret = base64::engine::general_purpose::STANDARD
            .decode("redactedredacted")
            .expect("valid base64");
        let secret = String::from_utf8_lossy(&secret).into_owned();
        let scrubber = Scrubber::new().with_credential("u", &secret);
        let _ = scrubber.scrub("redactedredacted [redacted] redacted");
        let scrubber = Scrubber::new().with_credential(SID, TOKEN);
        assert_eq!(scrubber.scrub("nothing to see"), "nothing to see");
        assert_eq!(scrubber.scrub(SID), SID, "the SID alone is not secret");
        assert!(!format!("{scrubber:?}").contains(TOKEN));
        assert_clean(&scrubber.scrub(&format!("token={TOKEN}")), TOKEN);
    }

    #[test]
    fn url_userinfo_is_redacted() {
        let cases = [
            (
                "http://user:pass@host:8000/x",
                "http://[redacted]@host:8000/x",
            ),
            ("https://user@host", "https://[redacted]@host"),
            (
                "'http://a:b@h' and https://c:d@e/f?g=h@i",
                "'http://[redacted]@h' and https://[redacted]@e/f?g=h@i",
            ),
            ("http://host:8000/p@q", "http://host:8000/p@q"),
            ("no url here: a@b", "no url here: a@b"),
            ("https://api.twilio.com", "https://api.twilio.com"),
        ];
        for (text, want) in cases {
            assert_eq!(redact_url_userinfo(text), want, "{text}");
        }
    }
}
