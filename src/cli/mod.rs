//! The command line ([`Cli`]): `focus-sentry [serve]` runs the web app (its flags are
//! [`crate::config::ServeArgs`]), and the offline tools: `focus-sentry analyze` (the verdict
//! for photos, or for the frames of one stream with `--stream`) and `focus-sentry eval`
//! (accuracy and head-pose error on a labelled folder).
//!
//! Neither tool needs the server or a tokio runtime; both use the models compiled into the
//! binary.

mod analyze;
mod eval;

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

pub use analyze::run_analyze;
pub use eval::run_eval;

use crate::config::ServeArgs;

/// The command line: `focus-sentry [serve] [--host H] [--port P] [--db PATH]`, or one of the
/// offline tools.
#[derive(Debug, Parser)]
#[command(
    name = "focus-sentry",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags for serving when no subcommand is given (`focus-sentry` = `focus-sentry serve`).
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app (the default when no subcommand is given).
    Serve(ServeArgs),
    /// Analyse image files and print the attention verdict of each.
    Analyze(AnalyzeArgs),
    /// Evaluate the vision pipeline against labelled photos.
    Eval(EvalArgs),
}

impl Cli {
    /// The serve flags to use: those of `serve`, or the top-level ones when no subcommand
    /// was given. `None` for the offline tools.
    pub fn serve_args(&self) -> Option<&ServeArgs> {
        match &self.command {
            None => Some(&self.serve),
            Some(Command::Serve(args)) => Some(args),
            Some(_) => None,
        }
    }
}

/// Arguments of `focus-sentry analyze`.
#[derive(Debug, Clone, Args)]
pub struct AnalyzeArgs {
    /// Image files (JPEG or PNG), or folders: a folder means every image in it.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print a readable table instead of one JSON object per line.
    #[arg(long)]
    pub pretty: bool,
    /// Treat the files, in the order given (a folder's images sorted by name), as the frames
    /// of one webcam stream: each frame's face is tracked from the previous one, and the
    /// detector runs only when tracking loses it, as in a live session.
    #[arg(long)]
    pub stream: bool,
}

/// Arguments of `focus-sentry eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Folder searched for `MANIFEST.tsv` files (columns include `file` and
    /// `expected_class`) and `with_pose/poses.csv` files.
    pub dir: PathBuf,
    /// Exit non-zero if the overall accuracy is below this fraction (e.g. 0.9).
    #[arg(long)]
    pub min_accuracy: Option<f64>,
    /// Exit non-zero if the yaw or pitch mean absolute error exceeds this many degrees.
    #[arg(long)]
    pub max_pose_mae_deg: Option<f64>,
    /// Also list every file with its verdict.
    #[arg(long)]
    pub verbose: bool,
}

/// Whether a path looks like an image the pipeline reads.
fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    #[test]
    fn no_subcommand_means_serve_with_defaults() {
        let cli = Cli::try_parse_from(["focus-sentry"]).expect("parses");
        let args = cli.serve_args().expect("serve");
        assert_eq!(args.port, 8000);
        assert_eq!(args.host, IpAddr::V4(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn serve_subcommand_takes_flags() {
        let cli = Cli::try_parse_from(["focus-sentry", "serve", "--port", "9001", "--db", "x.db"])
            .expect("parses");
        let args = cli.serve_args().expect("serve");
        assert_eq!(args.port, 9001);
        assert_eq!(args.db_path, PathBuf::from("x.db"));
    }

    #[test]
    fn the_tools_have_no_serve_flags() {
        let cli = Cli::try_parse_from(["focus-sentry", "analyze", "a.jpg"]).expect("parses");
        assert!(cli.serve_args().is_none());
    }
}
