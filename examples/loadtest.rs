//! Load benchmark: how many live sessions can one server keep at 5 frames per second with
//! replies under 200 ms at the 99th percentile?
//!
//! ```text
//! cargo run --release --example loadtest -- [--max-sessions 32] [--step-seconds 10] [--budget-seconds 240] [--keep-going]
//! cargo run --release --example loadtest -- --sessions 24,32,40 [--slots 4] [--keep-going] [--spread]
//! ```
//!
//! Starts the real app in this process on 127.0.0.1:0 with a temporary database and the
//! embedded models, on a runtime of its own (as many workers as cores, like the binary's),
//! and the simulated pages on another, so that the CPU time of each is read from its own
//! threads. Then it runs steps of N concurrent sessions (1, 2, 3, 4, 6, 8, 12, 16, ...).
//! Each simulated page streams a real webcam-sized JPEG the way the browser does: one frame
//! in flight, the next one 200 ms after the previous was sent (at once if the reply came
//! later). By default all the pages start at the same instant, so their frames arrive in
//! bursts, all together; `--spread` starts them spread over one frame interval instead. Each step reports frames refused as `busy`, reply latency percentiles, the frame
//! rate achieved, the most frames the server analysed at once, CPU use (from /proc/self/stat:
//! server and pages together), memory (VmHWM/VmRSS from /proc/self/status: the pages' share is
//! small), and the CPU time per reply (which a machine shared with other work disturbs far
//! less than latency), split by thread (/proc/self/task/*/stat): the server's async workers,
//! its blocking threads (which wait for the inference slots' threads), the inference slots'
//! threads (named `rten-0` by rten: each runs its slot's frames whole, decoded, cropped, its
//! networks run and judged), and the pages. The server's session cap is raised to the
//! largest step, so every step's sessions can start. It stops at the first step over 200 ms p99
//! (or under 90 % of the target frame rate, or with any error reply), at `--max-sessions`, or when the time budget
//! runs out, and prints the largest N that kept up (`--keep-going` runs the remaining steps
//! anyway). Traffic stays on loopback.

#![allow(clippy::unwrap_used)]

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use focus_sentry::App;
use focus_sentry::config::Config;
use focus_test_support::load::Memory;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[derive(Debug, Parser)]
struct Args {
    /// Largest number of concurrent sessions to try.
    #[arg(long, default_value_t = 32)]
    max_sessions: usize,
    /// Run exactly these steps (numbers of sessions, comma-separated) instead of 1, 2, 3, 4,
    /// 6, 8, ... up to `--max-sessions`.
    #[arg(long, value_delimiter = ',')]
    sessions: Vec<usize>,
    /// Length of each step, seconds.
    #[arg(long, default_value_t = 10)]
    step_seconds: u64,
    /// Stop after this long in total, seconds.
    #[arg(long, default_value_t = 240)]
    budget_seconds: u64,
    /// p99 reply latency that counts as keeping up, milliseconds.
    #[arg(long, default_value_t = 200)]
    p99_limit_ms: u64,
    /// Run every step even past the limits (to see where frames start being refused on a
    /// shared machine, where the limits say more about the other load than about the server).
    #[arg(long)]
    keep_going: bool,
    /// Start the pages one after another, their first frames spread evenly over one frame
    /// interval (as pages opened independently would be), instead of all at the same instant.
    /// Without it every page's frames reach the server together, 5 times a second: the worst
    /// case, where the last frame of each burst waits for all the others.
    #[arg(long)]
    spread: bool,
    /// Frames the server analyses at once (`--inference-slots`); its default when absent.
    #[arg(long)]
    slots: Option<usize>,
    /// The frame to send (a webcam-sized JPEG).
    #[arg(
        long,
        default_value = "tests/fixtures/faces/attentive/att10_pexels_woman_f330.jpg"
    )]
    photo: PathBuf,
}

/// The binary's allocator (see `src/main.rs`): the server runs in this process.
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const FRAME_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
struct StepResult {
    sessions: usize,
    latencies_ms: Vec<f64>,
    /// Error replies, `busy` refusals among them.
    errors: usize,
    busy: usize,
    seconds: f64,
    cpu_percent: f64,
    vm_hwm_kb: u64,
    vm_rss_kb: u64,
    /// CPU seconds by thread group over the step.
    threads: ThreadCpu,
    /// The most frames analysed at the same moment.
    peak_analysing: usize,
}

impl StepResult {
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return f64::INFINITY;
        }
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    /// CPU time of the whole process per reply, milliseconds.
    fn cpu_ms_per_reply(&self) -> f64 {
        self.cpu_percent / 100.0 * self.seconds * 1000.0 / self.latencies_ms.len().max(1) as f64
    }

    /// CPU seconds per reply as milliseconds.
    fn per_reply_ms(&self, seconds: f64) -> f64 {
        seconds * 1000.0 / self.latencies_ms.len().max(1) as f64
    }

    fn fps_per_session(&self) -> f64 {
        self.latencies_ms.len() as f64 / self.seconds / self.sessions as f64
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    // The server's runtime, as the binary builds it (one worker per core); its threads are
    // named so their CPU time can be told from the pages'. Tokio starts the workers when it
    // builds the runtime, before any blocking thread, so the first `cores` names are theirs.
    // Blocking threads are kept for the whole run (tokio ends them after 10 idle seconds,
    // and an ended thread's CPU time can no longer be read on its own).
    let started = AtomicUsize::new(0);
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name_fn(move || {
            let n = started.fetch_add(1, Ordering::SeqCst);
            if n < cores {
                format!("{SERVER_ASYNC}{n}")
            } else {
                format!("{SERVER_BLOCKING}{}", n - cores)
            }
        })
        .thread_keep_alive(Duration::from_secs(24 * 3600))
        .enable_all()
        .build()?;
    let pages = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .thread_name(PAGES)
        .enable_all()
        .build()?;
    let result = pages.block_on(run(args, server.handle().clone()));
    server.shutdown_timeout(Duration::from_secs(10));
    result
}

async fn run(args: Args, server: tokio::runtime::Handle) -> anyhow::Result<()> {
    let photo = std::fs::read(&args.photo)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.photo.display()))?;
    let steps = if args.sessions.is_empty() {
        steps(args.max_sessions)
    } else {
        args.sessions.clone()
    };
    let dir = tempfile::tempdir()?;
    let mut config = Config::for_database(dir.path().join("loadtest.db"));
    // Every step's sessions must be allowed to run (the default cap is 32).
    let largest = steps.iter().copied().max().unwrap_or(1);
    config.limits.max_running_sessions = config.limits.max_running_sessions.max(largest);
    if let Some(slots) = args.slots {
        config.limits.inference_slots = slots;
    }
    let app = server.spawn(App::build(config)).await??;
    let vision = app.vision();
    let base = format!("http://{}", app.address());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = server.spawn(app.run_until(async move {
        let _ = stop_rx.await;
    }));
    focus_notify::install_crypto_provider();
    let client = reqwest::Client::new();

    println!(
        "loadtest: {} cores, {} inference slots, frame {} bytes, {} s per step, p99 limit {} ms",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        vision.inference_slots(),
        photo.len(),
        args.step_seconds,
        args.p99_limit_ms
    );
    println!(
        "{:>8} {:>8} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8} {:>5} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "sessions",
        "replies",
        "busy",
        "fps/sess",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "peak",
        "cpu %",
        "cpu ms/fr",
        "server",
        "srv async",
        "srv block",
        "rten",
        "pages",
        "VmHWM MB",
        "VmRSS MB"
    );

    let started = Instant::now();
    let budget = Duration::from_secs(args.budget_seconds);
    let mut best: Option<StepResult> = None;
    let mut failed_at: Option<usize> = None;
    for n in steps {
        if started.elapsed() + Duration::from_secs(args.step_seconds + 2) > budget {
            println!("time budget reached");
            break;
        }
        vision.take_peak_analysing();
        let mut result = run_step(
            &client,
            &base,
            &photo,
            n,
            Duration::from_secs(args.step_seconds),
            args.spread,
        )
        .await?;
        result.peak_analysing = vision.take_peak_analysing();
        let p99 = result.percentile(99.0);
        let t = &result.threads;
        println!(
            "{:>8} {:>8} {:>6} {:>9.2} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>5} {:>6.0} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            n,
            result.latencies_ms.len(),
            result.busy,
            result.fps_per_session(),
            result.percentile(50.0),
            result.percentile(95.0),
            p99,
            result.percentile(100.0),
            result.peak_analysing,
            result.cpu_percent,
            result.cpu_ms_per_reply(),
            result.per_reply_ms(t.server_async + t.server_blocking + t.rten),
            result.per_reply_ms(t.server_async),
            result.per_reply_ms(t.server_blocking),
            result.per_reply_ms(t.rten),
            result.per_reply_ms(t.pages),
            result.vm_hwm_kb as f64 / 1024.0,
            result.vm_rss_kb as f64 / 1024.0,
        );
        let keeps_up = p99 <= args.p99_limit_ms as f64
            && result.fps_per_session() >= 0.9 * (1000.0 / FRAME_INTERVAL.as_millis() as f64)
            && result.errors == 0;
        if keeps_up && failed_at.is_none() {
            best = Some(result);
        } else {
            failed_at = failed_at.or(Some(n));
            if !args.keep_going {
                break;
            }
        }
    }

    match &best {
        Some(r) => println!(
            "\nlargest N keeping p99 <= {} ms at 5 frames/s: {} sessions (p99 {:.1} ms, CPU {:.0} %, VmHWM {:.1} MB){}",
            args.p99_limit_ms,
            r.sessions,
            r.percentile(99.0),
            r.cpu_percent,
            r.vm_hwm_kb as f64 / 1024.0,
            failed_at.map_or(String::new(), |n| format!("; {n} did not keep up")),
        ),
        None => println!(
            "\nnot even one session kept p99 <= {} ms",
            args.p99_limit_ms
        ),
    }

    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), serving).await;
    Ok(())
}

/// 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, ... up to `max`.
fn steps(max: usize) -> Vec<usize> {
    let mut out = vec![1, 2, 3];
    let mut n = 4;
    while n <= max {
        out.push(n);
        out.push(n * 3 / 2);
        n *= 2;
    }
    out.retain(|&n| n <= max);
    out.dedup();
    out
}

async fn run_step(
    client: &reqwest::Client,
    base: &str,
    photo: &[u8],
    sessions: usize,
    length: Duration,
    spread: bool,
) -> anyhow::Result<StepResult> {
    let mut ids = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        let session: Value = client
            .post(format!("{base}/api/sessions"))
            .json(&json!({"duration_minutes": 60, "alert_threshold_s": 10, "alert_mode": "banner"}))
            .send()
            .await?
            .json()
            .await?;
        ids.push(
            session["id"]
                .as_i64()
                .ok_or_else(|| anyhow::anyhow!("no session id in {session}"))?,
        );
    }
    let cpu_before = cpu_seconds();
    let threads_before = thread_ticks();
    let wall = Instant::now();
    let deadline = tokio::time::Instant::now() + length;
    let mut tasks = Vec::new();
    let start = tokio::time::Instant::now();
    for (i, &id) in ids.iter().enumerate() {
        let url = format!("{}/api/sessions/{id}/live", base.replacen("http", "ws", 1));
        // One copy of the JPEG shared by every send of this page (a `Bytes` clone is a
        // reference count, where a `Vec` clone copied the 38 KB each time).
        let frame = Bytes::copy_from_slice(photo);
        let first = if spread {
            start + FRAME_INTERVAL * i as u32 / sessions as u32
        } else {
            start
        };
        tasks.push(tokio::spawn(async move {
            stream_session(url, frame, first, deadline).await
        }));
    }
    let mut result = StepResult {
        sessions,
        ..StepResult::default()
    };
    for task in tasks {
        let (latencies, errors, busy) = task.await??;
        result.latencies_ms.extend(latencies);
        result.errors += errors;
        result.busy += busy;
    }
    result.seconds = wall.elapsed().as_secs_f64();
    result.cpu_percent = (cpu_seconds() - cpu_before) / result.seconds * 100.0;
    result.threads = ThreadCpu::between(&threads_before, &thread_ticks());
    let memory = Memory::of_self();
    (result.vm_hwm_kb, result.vm_rss_kb) = (memory.peak_kb, memory.rss_kb);
    for id in ids {
        client
            .post(format!("{base}/api/sessions/{id}/end"))
            .send()
            .await?;
    }
    Ok(result)
}

/// The fields of a server message the pages look at; serde skips the rest without building
/// them, where a `serde_json::Value` allocated a map of every field of every reply.
#[derive(Deserialize)]
struct ReplyFields<'a> {
    #[serde(borrow)]
    source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error: Option<Cow<'a, str>>,
}

/// The pages' read buffer. The server's messages are small JSON (about 1 KB), and tungstenite
/// zero-fills the free part of its read buffer before each read, which at its default of
/// 128 KB cost more than parsing the reply.
const PAGE_READ_BUFFER: usize = 8 * 1024;

/// One simulated page: connects, sends its first frame at `first`, waits for its reply, and
/// sends the next 200 ms after the previous send. Returns the reply times, the error replies
/// and the `busy` refusals among them.
///
/// The pages run on the same cores as the server, so they are kept cheap (a browser would
/// run elsewhere): the frame is shared, not copied, per send, the read buffer is small and
/// replies are parsed only for the fields looked at.
async fn stream_session(
    url: String,
    frame: Bytes,
    first: tokio::time::Instant,
    deadline: tokio::time::Instant,
) -> anyhow::Result<(Vec<f64>, usize, usize)> {
    let config = WebSocketConfig::default().read_buffer_size(PAGE_READ_BUFFER);
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(url, Some(config), false).await?;
    tokio::time::sleep_until(first).await;
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut busy = 0;
    while tokio::time::Instant::now() < deadline {
        let sent = tokio::time::Instant::now();
        ws.send(Message::Binary(frame.clone())).await?;
        loop {
            let Some(message) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await?
            else {
                anyhow::bail!("the server closed the stream");
            };
            if let Message::Text(text) = message? {
                let reply: ReplyFields = serde_json::from_str(&text)?;
                if reply.source.as_deref() == Some("frame") {
                    if let Some(error) = reply.error {
                        errors += 1;
                        busy += usize::from(error == "busy");
                    }
                    break;
                }
            }
        }
        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep_until(sent + FRAME_INTERVAL).await;
    }
    let _ = ws.close(None).await;
    Ok((latencies, errors, busy))
}

/// Name prefixes of the threads whose CPU time is counted apart: the server's async workers,
/// its blocking threads, and the simulated pages' runtime. rten names its pools' threads
/// `rten-N`: the inference slots' threads (`rten-0` each), and its global pool's, which only
/// works while the models load.
const SERVER_ASYNC: &str = "srv-async-";
const SERVER_BLOCKING: &str = "srv-block-";
const PAGES: &str = "pages";
const RTEN: &str = "rten-";

/// CPU seconds by group of threads.
#[derive(Debug, Default, Clone, Copy)]
struct ThreadCpu {
    server_async: f64,
    server_blocking: f64,
    rten: f64,
    pages: f64,
}

impl ThreadCpu {
    /// What each group's threads used between two readings of [`thread_ticks`]; a thread
    /// that started in between counts from zero.
    fn between(before: &HashMap<u32, (String, u64)>, after: &HashMap<u32, (String, u64)>) -> Self {
        let mut cpu = ThreadCpu::default();
        for (tid, (name, ticks)) in after {
            let earlier = before.get(tid).map_or(0, |(_, t)| *t);
            let seconds = ticks.saturating_sub(earlier) as f64 / 100.0;
            let group = if name.starts_with(SERVER_ASYNC) {
                &mut cpu.server_async
            } else if name.starts_with(SERVER_BLOCKING) {
                &mut cpu.server_blocking
            } else if name.starts_with(RTEN) {
                &mut cpu.rten
            } else if name.starts_with(PAGES) {
                &mut cpu.pages
            } else {
                continue;
            };
            *group += seconds;
        }
        cpu
    }
}

/// Each thread of this process: its name and user + system CPU time in clock ticks
/// (/proc/self/task/TID/stat).
fn thread_ticks() -> HashMap<u32, (String, u64)> {
    let mut out = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        if let Some((name, ticks)) = parse_stat(&stat) {
            out.insert(tid, (name, ticks));
        }
    }
    out
}

/// The command name and user + system clock ticks of a /proc `stat` line.
fn parse_stat(stat: &str) -> Option<(String, u64)> {
    // The command name (field 2) is in parentheses and may contain spaces; the fields after
    // it are plain. `after` starts at field 3, so fields 14 and 15 are indexes 11 and 12.
    let (head, after) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_owned();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Some((name, ticks(11) + ticks(12)))
}

/// User + system CPU time of this process, seconds (/proc/self/stat fields 14 and 15, in
/// clock ticks of 1/100 s, the value on every Linux this runs on).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| parse_stat(&stat))
        .map_or(0.0, |(_, ticks)| ticks as f64 / 100.0)
}
