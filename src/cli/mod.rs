//! The command line ([`Cli`]): `focus-sentry [serve]` runs the web app (its flags are
//! [`crate::config::ServeArgs`]), and the offline tools: `focus-sentry analyze` (the verdict
//! for photos, or for a stream of frames), `focus-sentry calibrate` (a calibration profile
//! from photos of the user looking at known points) and `focus-sentry eval` (accuracy and
//! head-pose error on labelled folders).
//!
//! None of the tools needs the server or a tokio runtime; they use the models compiled into
//! the binary.

mod analyze;
mod calibrate;
mod eval;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use focus_vision::{FrameAnalysis, Profile};

pub use analyze::run_analyze;
pub use calibrate::run_calibrate;
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
    /// Build a calibration profile from photos of the user looking at the screen's centre
    /// (and corners).
    Calibrate(CalibrateArgs),
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
    /// Judge relative to this calibration profile (from `focus-sentry calibrate` or the
    /// app).
    #[arg(long, value_name = "PROFILE.json")]
    pub profile: Option<PathBuf>,
    /// Treat the files, in the order given (a folder's images sorted by name), as the frames
    /// of one webcam stream: each frame's face is tracked from the previous one, and the
    /// detector runs only when tracking loses it, as in a live session; blinks and PERCLOS
    /// are measured.
    #[arg(long)]
    pub stream: bool,
    /// With `--stream`: the frames' rate, frames per second (their times are 1/fps apart).
    #[arg(long, default_value_t = 5.0, requires = "stream")]
    pub fps: f64,
}

/// Arguments of `focus-sentry calibrate`: photos of the user looking at each point.
#[derive(Debug, Clone, Args)]
pub struct CalibrateArgs {
    /// Where to write the profile (JSON). Nothing is written if the calibration is refused.
    #[arg(long, value_name = "PROFILE.json")]
    pub out: PathBuf,
    /// Photos looking at the screen's centre. With the centre alone the calibration is the
    /// quick one: the screen's size is assumed. As on the calibration page, all the photos
    /// are frames of one webcam stream, in order: the centre's, then each corner's.
    #[arg(long, required = true, num_args = 1.., value_name = "FILE")]
    pub center: Vec<PathBuf>,
    /// Photos looking at the screen's top-left corner (as the user sees it).
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub top_left: Vec<PathBuf>,
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub top_right: Vec<PathBuf>,
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub bottom_left: Vec<PathBuf>,
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub bottom_right: Vec<PathBuf>,
    /// An extra place that counts as focused, and a photo looking at it: `notes=desk.jpg`.
    /// Repeat for more photos or more zones.
    #[arg(long, value_name = "NAME=FILE")]
    pub zone: Vec<String>,
}

/// Which half of the evaluation photos `eval` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Half {
    /// Every photo.
    All,
    /// The half thresholds may be chosen on.
    Choosing,
    /// The other half, which measures them.
    HeldOut,
}

impl Half {
    pub fn as_str(self) -> &'static str {
        match self {
            Half::All => "all",
            Half::Choosing => "choosing",
            Half::HeldOut => "held-out",
        }
    }
}

/// Arguments of `focus-sentry eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Folders searched for `MANIFEST.tsv` files (columns include `file` and
    /// `expected_class`) and `with_pose/poses.csv` files; measured together, and each on its
    /// own.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Measure one half of the photos only (split by a hash of the file name; see
    /// docs/vision.md).
    #[arg(long, value_enum, default_value_t = Half::All)]
    pub half: Half,
    /// Judge relative to this calibration profile.
    #[arg(long, value_name = "PROFILE.json")]
    pub profile: Option<PathBuf>,
    /// Exit non-zero if the overall accuracy is below this fraction (e.g. 0.9).
    #[arg(long)]
    pub min_accuracy: Option<f64>,
    /// Exit non-zero if the yaw or pitch mean absolute error exceeds this many degrees.
    #[arg(long)]
    pub max_pose_mae_deg: Option<f64>,
    /// Exit non-zero if the roll mean absolute error exceeds this many degrees.
    #[arg(long)]
    pub max_roll_mae_deg: Option<f64>,
    /// Also list every file with its verdict.
    #[arg(long)]
    pub verbose: bool,
}

/// Reads and checks a calibration profile.
/// A frame's verdict in words, as both commands print it: "focused", "focused (notes)",
/// "looking_away (looking down)".
fn verdict_words(analysis: &FrameAnalysis) -> String {
    let verdict = analysis.reason.map_or("focused", |r| r.as_str());
    match (&analysis.away, &analysis.zone) {
        (Some(way), _) => format!("{verdict} ({})", way.words()),
        (None, Some(zone)) => format!("{verdict} ({zone})"),
        _ => verdict.to_owned(),
    }
}

fn read_profile(path: &Path) -> anyhow::Result<Profile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the profile {}", path.display()))?;
    Profile::from_json(&text).with_context(|| format!("{}", path.display()))
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
    fn calibrate_takes_photos_per_point_and_zones() {
        let cli = Cli::try_parse_from([
            "focus-sentry",
            "calibrate",
            "--out",
            "p.json",
            "--center",
            "c1.jpg",
            "c2.jpg",
            "--top-left",
            "tl.jpg",
            "--zone",
            "notes=n.jpg",
        ])
        .expect("parses");
        let Some(Command::Calibrate(args)) = cli.command else {
            panic!("calibrate");
        };
        assert_eq!(args.center.len(), 2);
        assert_eq!(args.top_left, vec![PathBuf::from("tl.jpg")]);
        assert_eq!(args.zone, vec!["notes=n.jpg".to_owned()]);
        assert!(Cli::try_parse_from(["focus-sentry", "calibrate", "--out", "p.json"]).is_err());
    }

    #[test]
    fn fps_needs_stream() {
        assert!(Cli::try_parse_from(["focus-sentry", "analyze", "--fps", "24", "a.jpg"]).is_err());
        assert!(
            Cli::try_parse_from([
                "focus-sentry",
                "analyze",
                "--stream",
                "--fps",
                "24",
                "a.jpg"
            ])
            .is_ok()
        );
    }

    #[test]
    fn the_tools_have_no_serve_flags() {
        let cli = Cli::try_parse_from(["focus-sentry", "analyze", "a.jpg"]).expect("parses");
        assert!(cli.serve_args().is_none());
    }
}
