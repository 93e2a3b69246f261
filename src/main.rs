//! Focus Sentry's entry point: see the library crate for the layout.
//!
//! `focus-sentry` (or `focus-sentry serve`) runs the web app; `analyze`, `calibrate` and
//! `eval` are the offline vision tools. Settings come from flags, then the environment, then
//! `.env`.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use focus_sentry::cli::{self, Cli, Command};
use focus_sentry::{App, Config, config};
use tracing_subscriber::EnvFilter;

/// rten allocates every inference run's tensors afresh (megabytes per frame). glibc's malloc
/// returns them to the kernel and faults them back in on the next frame; jemalloc keeps and
/// reuses them, which saves ~1.5 ms of a ~16 ms frame (`cargo bench -p focus-vision`).
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The chain on one line, in words; no backtrace: start-up errors are the user's
            // to fix (a bad path, a taken port), not a bug report.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    // `.env` first: the flags fall back to the environment, which it fills in.
    let dotenv_problem = config::load_dotenv();
    let args = Cli::parse();
    init_tracing();
    if let Some(problem) = dotenv_problem {
        tracing::warn!("{problem}");
    }
    match args.command {
        Some(Command::Analyze(a)) => return cli::run_analyze(a),
        Some(Command::Calibrate(a)) => return cli::run_calibrate(a),
        Some(Command::Eval(a)) => return cli::run_eval(a),
        Some(Command::Serve(_)) | None => {}
    }
    let Some(serve) = args.serve_args() else {
        anyhow::bail!("no serve arguments");
    };
    let config = Config::from_serve_args(serve, |name| std::env::var(name).ok());
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(async {
            let app = App::build(config).await?;
            app.run_until_stopped().await.context("the server failed")
        })
}

/// Logs to stderr; `RUST_LOG` overrides the default level (info for this app, warn for
/// libraries).
fn init_tracing() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,focus_sentry=info,focus_store=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
