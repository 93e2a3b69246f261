//! [`Senders`]: the email and SMS senders of the channels that are set up, built once at
//! start-up, and the permanent error for a channel that is not.

use std::sync::Arc;

use focus_notify::{EmailSender, NotifyConfig, SendError, SmsSender, SummaryMessage};
use focus_types::Channel;

/// The senders of the channels that are set up. Built once at start-up.
#[derive(Debug, Clone, Default)]
pub struct Senders {
    email: Option<Arc<EmailSender>>,
    sms: Option<Arc<SmsSender>>,
}

impl Senders {
    /// Builds a sender for each configured channel. A sender that cannot be built (e.g. the
    /// extra CA certificate does not parse) leaves its channel off; the reasons, in words and
    /// without secrets, are returned for the start-up log.
    pub fn from_config(notify: &NotifyConfig) -> (Senders, Vec<String>) {
        let mut problems = Vec::new();
        let email = notify.email.clone().and_then(|config| {
            EmailSender::new(config)
                .map(Arc::new)
                .map_err(|e| problems.push(format!("email summaries are off: {e}")))
                .ok()
        });
        let sms = notify.sms.clone().and_then(|config| {
            SmsSender::new(config)
                .map(Arc::new)
                .map_err(|e| problems.push(format!("SMS summaries are off: {e}")))
                .ok()
        });
        (Senders { email, sms }, problems)
    }

    /// Whether `channel` can send.
    pub fn has(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email.is_some(),
            Channel::Sms => self.sms.is_some(),
        }
    }

    /// Sends `message` to `to` on `channel`.
    pub(super) async fn send(
        &self,
        channel: Channel,
        to: &str,
        message: &SummaryMessage,
    ) -> Result<(), SendError> {
        match channel {
            Channel::Email => match &self.email {
                Some(sender) => sender.send(to, message).await,
                None => Err(not_configured(channel)),
            },
            Channel::Sms => match &self.sms {
                Some(sender) => sender.send(to, message).await,
                None => Err(not_configured(channel)),
            },
        }
    }
}

/// The error for a delivery whose channel is not set up (a row queued by an earlier run
/// that had it): permanent, so it fails at once and can be re-sent once set up.
fn not_configured(channel: Channel) -> SendError {
    let vars = match channel {
        Channel::Email => "FOCUS_SMTP_HOST and the other FOCUS_SMTP_* settings",
        Channel::Sms => "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER",
    };
    SendError::permanent(format!(
        "{} is not set up on this server: set {vars} (see {}), restart Focus Sentry and \
         send it again",
        channel.title(),
        channel.help_path()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unconfigured_channel_fails_for_good_and_says_how_to_fix_it() {
        let err = not_configured(Channel::Sms);
        assert!(!err.is_transient());
        assert!(err.message.contains("TWILIO_AUTH_TOKEN"), "{err}");
        assert!(err.message.contains("/help/sms"), "{err}");
    }
}
