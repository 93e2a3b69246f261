//! Checks the session form (`POST /api/sessions`) field by field, so a mistake comes back as
//! a 422 naming the field and saying what to type, shown beside that field on the page.
//!
//! The body is read as loosely typed JSON first (every field a [`serde_json::Value`]), so a
//! string where a number belongs is also reported against its field rather than as a
//! generic "bad JSON".

use focus_store::{AlertMode, Channel, NewSession};
use serde::Deserialize;
use serde_json::Value;

use crate::config::Limits;
use crate::web::error::AppError;

/// The form as sent; see `docs/api.md`.
#[derive(Debug, Default, Deserialize)]
pub struct SessionForm {
    pub duration_minutes: Option<Value>,
    pub alert_threshold_s: Option<Value>,
    pub alert_mode: Option<Value>,
    pub email: Option<Value>,
    pub phone: Option<Value>,
    pub send_email: Option<Value>,
    pub send_sms: Option<Value>,
    /// The calibration profile to judge with: a profile id, or absent/null for none.
    pub profile_id: Option<Value>,
}

/// Which summary channels the server can send on (see [`crate::delivery::DeliveryHandle`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channels {
    pub email: bool,
    pub sms: bool,
}

/// Validates the form and returns the session to create, started at `now_ms`. Asking for a
/// summary on a channel the server cannot send on is refused (naming `send_email` or
/// `send_sms`) rather than queued for a delivery that could only fail.
pub fn validate_session_form(
    form: &SessionForm,
    limits: &Limits,
    channels: Channels,
    now_ms: i64,
) -> Result<NewSession, AppError> {
    let minutes = number_in(
        "duration_minutes",
        form.duration_minutes.as_ref(),
        limits.duration_minutes,
        ("the planned duration", "minutes"),
    )?;
    let threshold_s = number_in(
        "alert_threshold_s",
        form.alert_threshold_s.as_ref(),
        limits.alert_threshold_s,
        ("the alert threshold", "seconds"),
    )?;
    let alert_mode = alert_mode(form.alert_mode.as_ref())?;
    let email = text("email", form.email.as_ref())?;
    if let Some(email) = &email {
        focus_notify::validate_email(email).map_err(|detail| AppError::invalid("email", detail))?;
    }
    let phone = text("phone", form.phone.as_ref())?.map(|p| normalise_phone(&p));
    if let Some(phone) = &phone {
        focus_notify::validate_e164(phone).map_err(|detail| AppError::invalid("phone", detail))?;
    }
    let send_email = flag("send_email", form.send_email.as_ref())?;
    let send_sms = flag("send_sms", form.send_sms.as_ref())?;
    if send_email && !channels.email {
        return Err(AppError::invalid("send_email", not_set_up(Channel::Email)));
    }
    if send_sms && !channels.sms {
        return Err(AppError::invalid("send_sms", not_set_up(Channel::Sms)));
    }
    if send_email && email.is_none() {
        return Err(AppError::invalid(
            "email",
            "enter an email address to receive the summary, or untick \"send email summary\"",
        ));
    }
    if send_sms && phone.is_none() {
        return Err(AppError::invalid(
            "phone",
            "enter a phone number with its country code (e.g. +14155550123) to receive the \
             summary, or untick \"send SMS summary\"",
        ));
    }
    // Both are in range, so the products fit comfortably in u32.
    let profile_id = match form.profile_id.as_ref() {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(id) if id > 0 => Some(id),
            _ => {
                return Err(AppError::invalid(
                    "profile_id",
                    "choose a calibration profile from the list, or none",
                ));
            }
        },
    };
    let planned_duration_s = (minutes * 60.0).round() as u32;
    let alert_threshold_ms = (threshold_s * 1000.0).round() as u32;
    Ok(NewSession {
        started_at_ms: now_ms,
        planned_duration_s,
        alert_threshold_ms,
        alert_mode,
        email,
        phone,
        send_email,
        send_sms,
        profile_id,
        profile_used: None,
        profile_data: None,
    })
}

/// The number in `value` ([`number`]) when it lies in `range`, else a 422 on `field`:
/// "{what} must be between {min} and {max} {unit}".
fn number_in(
    field: &'static str,
    value: Option<&Value>,
    (min, max): (f64, f64),
    (what, unit): (&str, &str),
) -> Result<f64, AppError> {
    let n = number(field, value, what)?;
    if (min..=max).contains(&n) {
        return Ok(n);
    }
    Err(AppError::invalid(
        field,
        format!(
            "{what} must be between {} and {} {unit}",
            fmt_number(min),
            fmt_number(max)
        ),
    ))
}

/// Why a summary cannot go by `channel` on this server, and what to do about it.
fn not_set_up(channel: Channel) -> String {
    let name = channel.name();
    format!(
        "{name} is not set up on this server, so the summary cannot be sent by {name}; untick \
         \"Send {name} summary\", or set up {name} (guide at {}) and restart",
        channel.help_path()
    )
}

fn number(field: &'static str, value: Option<&Value>, what: &str) -> Result<f64, AppError> {
    match value {
        None | Some(Value::Null) => Err(AppError::invalid(field, format!("enter {what}"))),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|v| v.is_finite())
            .ok_or_else(|| AppError::invalid(field, format!("{what} must be a number"))),
        // A form may post numbers as text; accept "25" but not "25 min".
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| AppError::invalid(field, format!("{what} must be a number"))),
        Some(_) => Err(AppError::invalid(field, format!("{what} must be a number"))),
    }
}

fn alert_mode(value: Option<&Value>) -> Result<AlertMode, AppError> {
    const HINT: &str = "choose banner, sound or both";
    match value {
        None | Some(Value::Null) => Err(AppError::invalid("alert_mode", HINT)),
        Some(Value::String(s)) => match s.as_str() {
            "banner" => Ok(AlertMode::Banner),
            "sound" => Ok(AlertMode::Sound),
            "both" => Ok(AlertMode::Both),
            _ => Err(AppError::invalid(
                "alert_mode",
                format!("unknown alert mode; {HINT}"),
            )),
        },
        Some(_) => Err(AppError::invalid("alert_mode", HINT)),
    }
}

/// An optional text field: missing, null or blank is `None`; surrounding spaces are dropped.
fn text(field: &'static str, value: Option<&Value>) -> Result<Option<String>, AppError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.len() > 320 => {
            Err(AppError::invalid(field, "this is too long"))
        }
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(AppError::invalid(field, "must be text")),
    }
}

fn flag(field: &'static str, value: Option<&Value>) -> Result<bool, AppError> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(AppError::invalid(field, "must be true or false")),
    }
}

/// Drops the spaces, dashes, dots and brackets people type in phone numbers
/// ("+1 (415) 555-0123"), keeping what E.164 allows to be checked as such.
fn normalise_phone(phone: &str) -> String {
    phone
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect()
}

/// `1` rather than `1.0`, `0.5` as is.
fn fmt_number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALL: Channels = Channels {
        email: true,
        sms: true,
    };

    fn check(body: Value) -> Result<NewSession, (String, String)> {
        check_with(body, ALL)
    }

    fn check_with(body: Value, channels: Channels) -> Result<NewSession, (String, String)> {
        let form: SessionForm = serde_json::from_value(body).expect("object");
        validate_session_form(&form, &Limits::default(), channels, 1_000).map_err(|e| match e {
            AppError::Invalid { field, detail } => (field.to_owned(), detail),
            other => (String::new(), other.to_string()),
        })
    }

    fn base() -> Value {
        json!({"duration_minutes": 25, "alert_threshold_s": 10, "alert_mode": "both",
               "send_email": false, "send_sms": false})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut body = base();
        body[key] = value;
        body
    }

    #[test]
    fn valid_form_becomes_a_session() {
        let s = check(base()).expect("valid");
        assert_eq!(s.planned_duration_s, 1500);
        assert_eq!(s.alert_threshold_ms, 10_000);
        assert_eq!(s.alert_mode, AlertMode::Both);
        assert_eq!(s.started_at_ms, 1_000);
        assert_eq!(s.email, None);
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases = [
            (with("duration_minutes", json!(0)), "duration_minutes"),
            (with("duration_minutes", json!(601)), "duration_minutes"),
            (with("duration_minutes", json!("ten")), "duration_minutes"),
            (with("duration_minutes", Value::Null), "duration_minutes"),
            (with("alert_threshold_s", json!(0.4)), "alert_threshold_s"),
            (with("alert_threshold_s", json!(600.5)), "alert_threshold_s"),
            (with("alert_mode", json!("popup")), "alert_mode"),
            (with("alert_mode", json!(3)), "alert_mode"),
            (with("email", json!("not-an-email")), "email"),
            (with("phone", json!("0044 20 7946 0958")), "phone"),
            (with("phone", json!("+12")), "phone"),
            (with("send_email", json!(true)), "email"),
            (with("send_sms", json!(true)), "phone"),
            (with("send_sms", json!("yes")), "send_sms"),
        ];
        for (body, field) in cases {
            let err = check(body.clone()).expect_err(&body.to_string());
            assert_eq!(err.0, field, "{body}: {}", err.1);
            assert!(!err.1.is_empty());
        }
    }

    #[test]
    fn summaries_on_channels_that_are_not_set_up_are_refused() {
        let mut body = base();
        body["email"] = json!("me@example.com");
        body["send_email"] = json!(true);
        body["phone"] = json!("+14155550123");
        body["send_sms"] = json!(true);
        let none = Channels {
            email: false,
            sms: false,
        };
        let err = check_with(body.clone(), none).expect_err("email off");
        assert_eq!(err.0, "send_email");
        assert!(err.1.contains("/help/email"), "{}", err.1);
        let email_only = Channels {
            email: true,
            sms: false,
        };
        let err = check_with(body.clone(), email_only).expect_err("sms off");
        assert_eq!(err.0, "send_sms");
        assert!(err.1.contains("/help/sms"), "{}", err.1);
        assert!(check_with(body, ALL).is_ok());
        // Addresses may still be typed while the channel is off, as long as nothing is sent.
        let mut kept = base();
        kept["email"] = json!("me@example.com");
        assert!(check_with(kept, none).is_ok());
    }

    #[test]
    fn limits_are_inclusive_and_contacts_normalised() {
        assert!(check(with("duration_minutes", json!(1))).is_ok());
        assert!(check(with("duration_minutes", json!(600))).is_ok());
        assert!(check(with("alert_threshold_s", json!(0.5))).is_ok());
        assert!(check(with("alert_threshold_s", json!(600))).is_ok());
        let mut body = base();
        body["email"] = json!("  me@example.com ");
        body["send_email"] = json!(true);
        body["phone"] = json!("+1 (415) 555-0123");
        body["send_sms"] = json!(true);
        let s = check(body).expect("valid");
        assert_eq!(s.email.as_deref(), Some("me@example.com"));
        assert_eq!(s.phone.as_deref(), Some("+14155550123"));
        assert!(s.send_email && s.send_sms);
    }
}
