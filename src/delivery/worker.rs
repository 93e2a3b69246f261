//! [`DeliveryWorker`]: the background task that sends what is due, at most
//! [`DeliverySettings::max_concurrent`] at once, and records each attempt ([`outcome_of`]
//! applies the retry policy).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use focus_notify::{RetryPolicy, SendError};
use focus_store::{Delivery, Outcome};
use focus_types::Channel;
use jiff::tz::TimeZone;
use tokio::sync::watch;
use tokio::task::{JoinError, JoinHandle, JoinSet};

use super::message::summary_message;
use super::{DeliveryHandle, Senders};
use crate::config::DeliverySettings;
use crate::db::{Db, DbError};
use crate::error::error_chain;
use crate::time::TimeSource;

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
}

/// The sends in progress, owned by the worker's loop. A delivery stays "in flight" until the
/// loop has reaped its task, not merely until the task returns: a queue read that began
/// while the send was running may still list the delivery as pending, and must not start it
/// again.
#[derive(Default)]
struct Sends {
    tasks: JoinSet<()>,
    /// Which delivery each task is sending.
    deliveries: HashMap<tokio::task::Id, i64>,
}

impl Sends {
    fn is_sending(&self, delivery: i64) -> bool {
        self.deliveries.values().any(|&id| id == delivery)
    }

    /// Forgets a finished task, and logs it if it panicked.
    fn reap(&mut self, done: Result<(tokio::task::Id, ()), JoinError>) {
        let task = match done {
            Ok((task, ())) => task,
            Err(e) => {
                if e.is_panic() {
                    tracing::error!(error = %error_chain(&e), "a summary send task panicked");
                }
                e.id()
            }
        };
        self.deliveries.remove(&task);
    }

    fn reap_finished(&mut self) {
        while let Some(done) = self.tasks.try_join_next_with_id() {
            self.reap(done);
        }
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
        let handle = DeliveryHandle::new(senders.has(Channel::Email), senders.has(Channel::Sms));
        let context = Arc::new(Context {
            db,
            senders,
            time,
            retry: settings.retry,
            time_zone: settings.time_zone.clone(),
            link_base,
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
    let mut sends = Sends::default();
    loop {
        let sleep_for = dispatch(&context, max_concurrent, &mut sends)
            .await
            .map_or(poll_interval, |wait| wait.min(poll_interval));
        tokio::select! {
            () = handle.inner.wake.notified() => {}
            () = tokio::time::sleep(sleep_for) => {}
            Some(done) = sends.tasks.join_next_with_id(), if !sends.tasks.is_empty() => sends.reap(done),
            _ = stop.changed() => break,
        }
        sends.reap_finished();
    }
    if !sends.tasks.is_empty() {
        let drained = tokio::time::timeout(grace, async {
            while let Some(done) = sends.tasks.join_next_with_id().await {
                sends.reap(done);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                sends = sends.tasks.len(),
                "stopping with summaries still being sent; they stay pending and are sent after the next start"
            );
            sends.tasks.abort_all();
        }
    }
}

/// Starts a send for every due delivery that is not in flight, while fewer than
/// `max_concurrent` sends are running. Returns how long until the next pending delivery not
/// yet started falls due, if any.
async fn dispatch(
    context: &Arc<Context>,
    max_concurrent: usize,
    sends: &mut Sends,
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
        if sends.is_sending(delivery.id) {
            continue;
        }
        if due_at > now {
            next_due = Some(next_due.map_or(due_at, |n| n.min(due_at)));
            continue;
        }
        // Full (finished tasks count until reaped): the rest waits until the loop reaps a
        // send, which wakes it.
        if sends.tasks.len() >= max_concurrent {
            break;
        }
        let id = delivery.id;
        let context = Arc::clone(context);
        let task = sends.tasks.spawn(send_one(context, delivery));
        sends.deliveries.insert(task.id(), id);
    }
    next_due.map(|at| Duration::from_millis(u64::try_from(at - now).unwrap_or(0)))
}

/// One attempt at one delivery, recorded in the store.
async fn send_one(context: Arc<Context>, delivery: Delivery) {
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
fn outcome_of(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
