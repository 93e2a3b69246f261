//! The delivery worker: sends the queued session summaries by email and SMS in the
//! background, with retries, and records every attempt in the store.
//!
//! Ending a session never waits for a send: [`crate::notifier::Notifier`] queues one row
//! per channel (`deliveries`, status `pending`) and wakes the worker through
//! [`DeliveryHandle::wake`]. The worker also looks at the queue every
//! [`DeliverySettings::poll_interval`] and when the next retry falls due, so a wake-up that
//! is missed, a retry that comes due, or a row left by the previous run (pending rows
//! survive restarts; the first look happens at start-up) is picked up without one.
//!
//! For each due delivery it builds the [`SummaryMessage`] from the stored session (see
//! [`summary_message`]), sends it, and records the outcome ([`outcome_of`]):
//!
//! - accepted: `sent`;
//! - a transient failure (connection refused, timeout, SMTP 4xx, HTTP 5xx or 429) while
//!   attempts remain: `pending` again, due after the [`RetryPolicy`] delay;
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

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use focus_notify::{EmailSender, NotifyConfig, RetryPolicy, SendError, SmsSender, SummaryMessage};
use focus_store::{Channel, Delivery, Outcome, Session};
use jiff::tz::TimeZone;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::config::DeliverySettings;
use crate::db::{Db, DbError};
use crate::error::error_chain;
use crate::time::{TimeSource, rfc3339};

/// Where the setup guide of each channel is served (by the web layer's `help` module).
pub fn help_path(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "/help/email",
        Channel::Sms => "/help/sms",
    }
}

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
    async fn send(
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
    let (what, vars) = match channel {
        Channel::Email => (
            "Email",
            "FOCUS_SMTP_HOST and the other FOCUS_SMTP_* settings",
        ),
        Channel::Sms => (
            "SMS",
            "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER",
        ),
    };
    SendError::permanent(format!(
        "{what} is not set up on this server: set {vars} (see {}), restart Focus Sentry and \
         send it again",
        help_path(channel)
    ))
}

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
    /// A handle for the given channels with no worker behind it (wakes go nowhere).
    pub fn detached(email: bool, sms: bool) -> Self {
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

/// The running worker. [`DeliveryWorker::stop`] ends it.
#[derive(Debug)]
pub struct DeliveryWorker {
    handle: DeliveryHandle,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Everything a send needs, shared by the worker and its send tasks.
#[derive(Debug)]
struct Context {
    db: Db,
    senders: Senders,
    time: Arc<dyn TimeSource>,
    retry: RetryPolicy,
    time_zone: TimeZone,
    /// `http://127.0.0.1:8000`: the base of the link to the session.
    link_base: String,
    /// Deliveries being sent now: never picked twice.
    in_flight: Mutex<HashSet<i64>>,
}

impl Context {
    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<i64>> {
        // Only inserts and removes happen under the lock; a panic cannot leave it torn.
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl DeliveryWorker {
    /// Starts the worker on the current tokio runtime. It looks at the queue at once, so
    /// deliveries left pending by the previous run go out as soon as they are due.
    /// `link_base` is the start of the link to the session (`{link_base}/history?session=ID`);
    /// `grace` is how long [`DeliveryWorker::stop`] lets sends in progress finish.
    pub fn start(
        db: Db,
        senders: Senders,
        time: Arc<dyn TimeSource>,
        settings: &DeliverySettings,
        link_base: String,
        grace: Duration,
    ) -> DeliveryWorker {
        let handle =
            DeliveryHandle::detached(senders.has(Channel::Email), senders.has(Channel::Sms));
        let context = Arc::new(Context {
            db,
            senders,
            time,
            retry: settings.retry,
            time_zone: settings.time_zone.clone(),
            link_base,
            in_flight: Mutex::new(HashSet::new()),
        });
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(
            context,
            handle.clone(),
            stop_rx,
            settings.poll_interval,
            settings.max_concurrent.max(1),
            grace,
        ));
        DeliveryWorker { handle, stop, task }
    }

    /// The handle to wake the worker and ask what is configured.
    pub fn handle(&self) -> DeliveryHandle {
        self.handle.clone()
    }

    /// Stops taking new deliveries, lets the sends in progress finish for up to the grace
    /// period (the rest stay pending and go out after the next start), and returns.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %error_chain(&e), "the delivery worker failed");
        }
    }
}

/// The worker's loop: dispatch what is due, then sleep until woken, a send finishes, the
/// next retry is due, the poll interval passes, or it is stopped.
async fn run(
    context: Arc<Context>,
    handle: DeliveryHandle,
    mut stop: watch::Receiver<bool>,
    poll_interval: Duration,
    max_concurrent: usize,
    grace: Duration,
) {
    let slots = Arc::new(Semaphore::new(max_concurrent));
    let mut sends: JoinSet<()> = JoinSet::new();
    loop {
        let sleep_for = dispatch(&context, &slots, &mut sends)
            .await
            .map_or(poll_interval, |wait| wait.min(poll_interval));
        tokio::select! {
            () = handle.inner.wake.notified() => {}
            () = tokio::time::sleep(sleep_for) => {}
            Some(done) = sends.join_next(), if !sends.is_empty() => log_join(done),
            _ = stop.changed() => break,
        }
        while let Some(done) = sends.try_join_next() {
            log_join(done);
        }
    }
    if !sends.is_empty() {
        let drained = tokio::time::timeout(grace, async {
            while let Some(done) = sends.join_next().await {
                log_join(done);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                sends = sends.len(),
                "stopping with summaries still being sent; they stay pending and are sent after the next start"
            );
            sends.abort_all();
        }
    }
}

fn log_join(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        tracing::error!(error = %error_chain(&e), "a summary send task panicked");
    }
}

/// Starts a send for every due delivery that is not in flight, while slots are free.
/// Returns how long until the next pending delivery not yet started falls due, if any.
async fn dispatch(
    context: &Arc<Context>,
    slots: &Arc<Semaphore>,
    sends: &mut JoinSet<()>,
) -> Option<Duration> {
    let pending = match context.db.call(|s| s.pending_deliveries()).await {
        Ok(pending) => pending,
        Err(e) => {
            tracing::warn!(error = %error_chain(&e), "could not read the delivery queue; will look again");
            return None;
        }
    };
    let now = context.time.now_ms();
    let mut next_due: Option<i64> = None;
    for delivery in pending {
        let due_at = delivery.next_attempt_at_ms.unwrap_or(now);
        if context.in_flight().contains(&delivery.id) {
            continue;
        }
        if due_at > now {
            next_due = Some(next_due.map_or(due_at, |n| n.min(due_at)));
            continue;
        }
        // Full: the rest waits until a send finishes (which wakes the loop).
        let Ok(permit) = Arc::clone(slots).try_acquire_owned() else {
            break;
        };
        context.in_flight().insert(delivery.id);
        let context = Arc::clone(context);
        sends.spawn(async move {
            let id = delivery.id;
            send_one(&context, delivery).await;
            context.in_flight().remove(&id);
            drop(permit);
        });
    }
    next_due.map(|at| Duration::from_millis(u64::try_from(at - now).unwrap_or(0)))
}

/// One attempt at one delivery, recorded in the store.
async fn send_one(context: &Context, delivery: Delivery) {
    let session_id = delivery.session_id;
    let channel = delivery.channel;
    let attempt = delivery.attempts.saturating_add(1);
    let session = match context.db.call(move |s| s.get_session(session_id)).await {
        Ok(session) => session,
        // Deleted meanwhile: its deliveries went with it.
        Err(DbError::NotFound) => return,
        Err(e) => {
            tracing::warn!(session = session_id, %channel, error = %error_chain(&e), "could not read the session to summarise; will try again");
            return;
        }
    };
    if !session.is_finished() {
        // Queued only at the end, so this does not happen; never send half a session.
        tracing::warn!(session = session_id, %channel, "summary queued for a running session; skipped");
        return;
    }
    let message = summary_message(&session, &context.link_base, &context.time_zone);
    let result = context
        .senders
        .send(channel, &delivery.destination, &message)
        .await;
    let now = context.time.now_ms();
    let outcome = outcome_of(&result, attempt, &context.retry, now);
    log_outcome(&delivery, attempt, &result, &outcome, now);
    let id = delivery.id;
    match context
        .db
        .call(move |s| s.record_attempt(id, outcome, now))
        .await
    {
        Ok(_) => {}
        // The session was deleted while sending.
        Err(DbError::NotFound) => {}
        Err(e) => {
            // The row stays pending and due, so the next look sends it again: at least once.
            tracing::error!(session = session_id, %channel, error = %error_chain(&e), "could not record a summary delivery attempt");
        }
    }
}

fn log_outcome(
    delivery: &Delivery,
    attempt: u32,
    result: &Result<(), SendError>,
    outcome: &Outcome,
    now_ms: i64,
) {
    let session = delivery.session_id;
    let channel = delivery.channel;
    let error = |e: &SendError| redact(&e.message, &delivery.destination);
    match (result, outcome) {
        (Ok(()), _) => tracing::info!(session, %channel, attempt, "summary sent"),
        (Err(e), Outcome::RetryAt(at, _)) => tracing::warn!(
            session,
            %channel,
            attempt,
            retry_in_ms = at.saturating_sub(now_ms),
            error = %error(e),
            "summary not sent; will retry"
        ),
        (Err(e), _) => tracing::warn!(
            session,
            %channel,
            attempt,
            kind = ?e.kind,
            error = %error(e),
            "summary not sent; gave up"
        ),
    }
}

/// The error text with the recipient taken out, for the log (the stored reason keeps it: it
/// is the user's own data, shown only to them).
fn redact(text: &str, destination: &str) -> String {
    let mut out = text.to_owned();
    let bare = destination.trim_start_matches('+');
    for needle in [destination, bare] {
        if needle.len() >= 3 {
            out = out.replace(needle, "[recipient]");
        }
    }
    out
}

/// What to record after attempt number `attempt` (1-based) ended in `result` at `now_ms`.
pub fn outcome_of(
    result: &Result<(), SendError>,
    attempt: u32,
    policy: &RetryPolicy,
    now_ms: i64,
) -> Outcome {
    let error = match result {
        Ok(()) => return Outcome::Sent,
        Err(error) => error,
    };
    match policy.retry_delay(attempt, error) {
        Some(delay_ms) => Outcome::RetryAt(
            now_ms.saturating_add(i64::try_from(delay_ms).unwrap_or(i64::MAX)),
            error.message.clone(),
        ),
        None if error.is_transient() => Outcome::Failed(format!(
            "gave up after {attempt} attempt{}: {}",
            if attempt == 1 { "" } else { "s" },
            error.message
        )),
        None => Outcome::Failed(error.message.clone()),
    }
}

/// The summary of an ended session as the email and the SMS show it.
///
/// Durations are whole seconds rounded to the nearest (as the pages show them), the focus
/// percent is the summary's (the page's rule), the start time is given in `zone` with the
/// zone's abbreviation ("2026-11-25 09:30 CET"), and the link opens the session on the
/// history page: `{link_base}/history?session={id}`.
pub fn summary_message(session: &Session, link_base: &str, zone: &TimeZone) -> SummaryMessage {
    let totals = &session.totals;
    SummaryMessage {
        session_id: session.id,
        started_at_local: format_start(session.started_at_ms, zone),
        planned_minutes: session.planned_duration_s.saturating_add(30) / 60,
        total_s: whole_seconds(totals.total_ms),
        focused_s: whole_seconds(totals.focused_ms),
        unfocused_s: whole_seconds(totals.unfocused_ms),
        breaks: totals.breaks,
        focus_percent: totals.focus_percent(),
        longest_focus_s: whole_seconds(totals.longest_focus_ms),
        ended_early: session.ended_early,
        link: format!("{link_base}/history?session={}", session.id),
    }
}

fn whole_seconds(ms: u64) -> u64 {
    ms.saturating_add(500) / 1000
}

/// "2026-11-25 09:30 CET": minutes are enough in a subject line; the zone is named so the
/// time is never ambiguous.
pub fn format_start(ms: i64, zone: &TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(at) => at
            .to_zoned_datetime(zone.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string(),
        // Out of jiff's range (year 10000): not a real session; say it plainly in UTC.
        Err(_) => rfc3339(ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use focus_store::{AlertMode, SessionStatus, Totals};

    fn session() -> Session {
        Session {
            id: 42,
            // 2026-11-25 09:30:00 UTC
            started_at_ms: 1_795_599_000_000,
            planned_duration_s: 1_500,
            alert_threshold_ms: 10_000,
            alert_mode: AlertMode::Both,
            email: Some("me@example.com".into()),
            phone: None,
            send_email: true,
            send_sms: false,
            ends_at_ms: 1_795_600_500_000,
            status: SessionStatus::Completed,
            ended_at_ms: Some(1_795_600_450_000),
            ended_early: true,
            updated_at_ms: 1_795_600_450_000,
            totals: Totals {
                total_ms: 1_450_000,
                focused_ms: 1_261_600,
                unfocused_ms: 188_400,
                breaks: 2,
                longest_focus_ms: 749_500,
            },
        }
    }

    #[test]
    fn summary_message_carries_the_session_numbers() {
        let msg = summary_message(&session(), "http://127.0.0.1:8000", &TimeZone::UTC);
        assert_eq!(msg.session_id, 42);
        assert_eq!(msg.started_at_local, "2026-11-25 09:30 UTC");
        assert_eq!(msg.planned_minutes, 25);
        assert_eq!(
            (
                msg.total_s,
                msg.focused_s,
                msg.unfocused_s,
                msg.longest_focus_s
            ),
            (1_450, 1_262, 188, 750)
        );
        assert_eq!(msg.breaks, 2);
        assert_eq!(msg.focus_percent, 87.0);
        assert!(msg.ended_early);
        assert_eq!(msg.link, "http://127.0.0.1:8000/history?session=42");
    }

    #[test]
    fn the_sms_guide_shows_what_is_really_sent() {
        let mut msg = summary_message(
            &Session {
                ended_early: false,
                ..session()
            },
            "http://127.0.0.1:8000",
            &TimeZone::UTC,
        );
        msg.started_at_local = "2026-11-25 09:30 CET".into();
        let sms = focus_notify::render_sms(&msg);
        let guide = include_str!("../docs/sms_setup.md");
        assert!(
            guide.contains(&sms),
            "docs/sms_setup.md should show:\n{sms}"
        );
    }

    #[test]
    fn start_time_names_its_zone() {
        let zone = TimeZone::fixed(jiff::tz::offset(1));
        let text = format_start(1_795_599_000_000, &zone);
        assert!(text.starts_with("2026-11-25 10:30 "), "{text}");
        assert_eq!(
            format_start(1_795_599_000_000, &TimeZone::UTC),
            "2026-11-25 09:30 UTC"
        );
    }

    #[test]
    fn outcomes_follow_the_policy() {
        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 1_000,
            max_delay_ms: 60_000,
        };
        let now = 1_000_000;
        assert_eq!(outcome_of(&Ok(()), 1, &policy, now), Outcome::Sent);
        let refused = Err(SendError::transient("could not connect"));
        assert_eq!(
            outcome_of(&refused, 1, &policy, now),
            Outcome::RetryAt(now + 1_000, "could not connect".into())
        );
        assert_eq!(
            outcome_of(&refused, 2, &policy, now),
            Outcome::RetryAt(now + 2_000, "could not connect".into())
        );
        assert_eq!(
            outcome_of(&refused, 3, &policy, now),
            Outcome::Failed("gave up after 3 attempts: could not connect".into())
        );
        let login = Err(SendError::permanent("535 rejected the login"));
        assert_eq!(
            outcome_of(&login, 1, &policy, now),
            Outcome::Failed("535 rejected the login".into())
        );
        let single = RetryPolicy {
            max_attempts: 1,
            ..policy
        };
        assert_eq!(
            outcome_of(&refused, 1, &single, now),
            Outcome::Failed("gave up after 1 attempt: could not connect".into())
        );
    }

    #[test]
    fn log_text_hides_the_recipient() {
        assert_eq!(
            redact(
                "Twilio answered HTTP 400 (error 21608: The number +14155550123 is unverified.)",
                "+14155550123"
            ),
            "Twilio answered HTTP 400 (error 21608: The number [recipient] is unverified.)"
        );
        assert_eq!(
            redact("recipient 14155550123 refused", "+14155550123"),
            "recipient [recipient] refused"
        );
        assert_eq!(
            redact("550 no such user me@example.com", "me@example.com"),
            "550 no such user [recipient]"
        );
    }

    #[test]
    fn an_unconfigured_channel_fails_for_good_and_says_how_to_fix_it() {
        let err = not_configured(Channel::Sms);
        assert!(!err.is_transient());
        assert!(err.message.contains("TWILIO_AUTH_TOKEN"), "{err}");
        assert!(err.message.contains("/help/sms"), "{err}");
    }
}
