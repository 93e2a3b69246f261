//! The offline tools: `focus-sentry analyze` (the verdict for photos) and
//! `focus-sentry eval` (accuracy and head-pose error on a labelled folder).
//!
//! Neither needs the server or a tokio runtime; both use the models compiled into the binary.

mod analyze;
mod eval;

use std::path::{Path, PathBuf};

use clap::Args;

pub use analyze::run_analyze;
pub use eval::run_eval;

/// Arguments of `focus-sentry analyze`.
#[derive(Debug, Clone, Args)]
pub struct AnalyzeArgs {
    /// Image files (JPEG or PNG), or folders: a folder means every image in it.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print a readable table instead of one JSON object per line.
    #[arg(long)]
    pub pretty: bool,
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
