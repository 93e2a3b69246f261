//! Checks of what people type as a destination or a sender: email addresses
//! ([`validate_email`]), phone numbers in E.164 form ([`validate_e164`]) and sender
//! mailboxes. The settings form of the app and this crate's configuration use the same
//! checks, so an address the form accepts is one the sender can send to.
//!
//! Each returns `Err` with a sentence fit to show the person who typed the value.

use std::str::FromStr;

/// Checks an email address as typed into the settings form: a bare
/// `user@domain` (no display name, no surrounding spaces), as lettre parses
/// addresses, at most 254 characters.
pub fn validate_email(address: &str) -> Result<(), String> {
    if address.is_empty() {
        return Err("enter an email address, e.g. you@example.com".to_owned());
    }
    if address.trim() != address {
        return Err(format!("'{address}' has spaces at the start or end"));
    }
    if address.len() > 254 {
        return Err("that address is longer than the 254 characters email allows".to_owned());
    }
    if address.contains(['<', '>']) {
        return Err(format!(
            "'{address}': enter just the address, e.g. you@example.com, without a name or <>"
        ));
    }
    let Some((user, domain)) = address.rsplit_once('@') else {
        return Err(format!("'{address}' is not an email address: it has no @"));
    };
    if user.is_empty() || domain.is_empty() {
        return Err(format!(
            "'{address}' is not an email address: something is missing before or after the @"
        ));
    }
    lettre::Address::from_str(address).map(|_| ()).map_err(|e| {
        use lettre::address::AddressError as E;
        let why = match e {
            E::MissingParts => "something is missing before or after the @",
            E::InvalidUser => "the part before the @ has characters an address cannot have",
            E::InvalidDomain => "the part after the @ is not a valid domain",
            _ => "it is not a valid address",
        };
        format!("'{address}' is not an email address: {why}")
    })
}

/// Checks a phone number in E.164 form: `+`, then 8 to 15 digits, the first
/// one 1-9 (a country code never starts with 0). No spaces or dashes.
pub fn validate_e164(number: &str) -> Result<(), String> {
    const EXAMPLE: &str = "e.g. +14155550123 or +447700900123";
    let Some(digits) = number.strip_prefix('+') else {
        return Err(format!(
            "'{number}' must start with + and the country code, {EXAMPLE}"
        ));
    };
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "'{number}' may only contain digits after the +, without spaces, dashes or \
             brackets, {EXAMPLE}"
        ));
    }
    if digits.starts_with('0') {
        return Err(format!(
            "'{number}': the country code after the + cannot start with 0 (drop the \
             leading 0 of the national number), {EXAMPLE}"
        ));
    }
    if !(8..=15).contains(&digits.len()) {
        return Err(format!(
            "'{number}' has {} digits; a full international number has 8 to 15, {EXAMPLE}",
            digits.len()
        ));
    }
    Ok(())
}

/// Checks a sender: a bare address or `Name <address>`.
pub(crate) fn check_mailbox(raw: &str) -> Result<(), String> {
    match lettre::message::Mailbox::from_str(raw) {
        Ok(mailbox) => validate_email(mailbox.email.as_ref()),
        Err(_) if !raw.contains('<') => validate_email(raw),
        Err(_) => Err(format!(
            "'{raw}' is not an email address; use you@example.com or Name <you@example.com>"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_validator_accepts_addresses_and_explains_rejections() {
        for ok in [
            "me@gmail.com",
            "first.last+focus@example.co.uk",
            "a@localhost",
        ] {
            assert_eq!(validate_email(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", "enter an email address"),
            ("me", "has no @"),
            ("me@", "something is missing"),
            ("@example.com", "something is missing"),
            ("me @example.com", "not an email address"),
            (" me@example.com", "spaces at the start or end"),
            ("Me <me@example.com>", "without a name"),
            ("me@exa mple.com", "not a valid domain"),
        ] {
            let err = validate_email(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn e164_validator() {
        for ok in [
            "+14155550123",
            "+447700900123",
            "+12345678",
            "+123456789012345",
        ] {
            assert_eq!(validate_e164(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("14155550123", "must start with +"),
            ("+1 415 555 0123", "only contain digits"),
            ("+1-415-555-0123", "only contain digits"),
            ("+0441234567", "cannot start with 0"),
            ("+1234567", "has 7 digits"),
            ("+1234567890123456", "has 16 digits"),
            ("+", "has 0 digits"),
            ("", "must start with +"),
        ] {
            let err = validate_e164(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
