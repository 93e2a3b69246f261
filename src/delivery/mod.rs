//! Sending the queued session summaries by email and SMS in the background, with retries,
//! and recording every attempt in the store.
//!
//! Ending a session never waits for a send: [`crate::notifier::Notifier`] queues one row
//! per channel (`deliveries`, status `pending`) and wakes the worker through
//! [`DeliveryHandle::wake`]. The worker also looks at the queue every
//! [`DeliverySettings::poll_interval`] and when the next retry falls due, so a wake-up that
//! is missed, a retry that comes due, or a row left by the previous run (pending rows
//! survive restarts; the first look happens at start-up) is picked up without one.
//!
//! For each due delivery it builds the [`focus_notify::SummaryMessage`] from the stored
//! session, sends it, and records the outcome:
//!
//! - accepted: `sent`;
//! - a transient failure (connection refused, timeout, SMTP 4xx, HTTP 5xx or 429) while
//!   attempts remain: `pending` again, due after the [`focus_notify::RetryPolicy`] delay;
//! - a permanent failure (bad credentials, a refused address, HTTP 4xx, the channel not set
//!   up on this server) or the last attempt: `failed`, with the reason in words.
//!
//! At most [`DeliverySettings::max_concurrent`] sends run at once, and a delivery is never
//! sent by two tasks at the same time. A failed delivery can be queued again
//! (`POST /api/sessions/{id}/deliveries/{channel}/retry`), which resets its attempts.
//!
//! Delivery is at least once: a send the server accepted but whose result could not be
//! recorded (the app was killed in between) is sent again after a restart.
//!
//! Logging names the session, the channel, the attempt and the error kind; error texts are
//! logged with the recipient replaced by `[recipient]`. Addresses, phone numbers, message
//! bodies and secrets are never logged.
//!
//! # Layout
//! - this module: [`DeliveryHandle`], what the rest of the app holds (wake the worker, ask
//!   which channels are set up);
//! - `worker`: [`DeliveryWorker`]: the loop, one send and its outcome, the log lines;
//! - `senders`: [`Senders`], the email and SMS senders that are set up;
//! - `message`: the summary as the email and the SMS say it.
//!
//! [`DeliverySettings::poll_interval`]: crate::config::DeliverySettings::poll_interval
//! [`DeliverySettings::max_concurrent`]: crate::config::DeliverySettings::max_concurrent

mod message;
mod senders;
mod worker;

use std::sync::Arc;

use focus_types::Channel;
use tokio::sync::Notify;

pub use senders::Senders;
pub use worker::DeliveryWorker;

/// What the web layer needs of the worker: wake it, and know which channels work. Cheap to
/// clone.
#[derive(Debug, Clone)]
pub struct DeliveryHandle {
    inner: Arc<HandleInner>,
}

#[derive(Debug)]
struct HandleInner {
    wake: Notify,
    email: bool,
    sms: bool,
}

impl DeliveryHandle {
    /// A handle for the given channels; the worker started with it listens for its wakes.
    fn new(email: bool, sms: bool) -> Self {
        DeliveryHandle {
            inner: Arc::new(HandleInner {
                wake: Notify::new(),
                email,
                sms,
            }),
        }
    }

    /// Tells the worker to look at the queue now. A wake while it is busy is kept (one), so
    /// none is lost.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Whether summaries can be sent on `channel` (it is configured and its sender built).
    pub fn is_configured(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.inner.email,
            Channel::Sms => self.inner.sms,
        }
    }
}
