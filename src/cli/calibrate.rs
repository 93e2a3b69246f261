//! `focus-sentry calibrate --out PROFILE.json --center FILE... [--top-left FILE...] ...`:
//! a calibration profile from photos of the user looking at the screen's centre (and
//! corners), built as the app's calibration page builds one ([`crate::calibration`]).
//!
//! The page's path, step by step: the files are the frames of one webcam stream, a point's
//! files in the order given and the points in the page's order (the centre, then the
//! corners, [`CalibrationPoint::ALL`]), analysed by one [`FaceTracker`] that follows the face
//! from frame to frame (as `analyze --stream` does and as the page's calibration run does,
//! with no profile yet); each frame's numbers go to the same [`Calibration`], whose
//! [`Calibration::build`] checks them with the same rules. Each zone is a calibration of its
//! own (the page opens a new one for it), checked against the screen as the page checks it,
//! with the page's limits on zone names and on zones per profile. Analysing the files as
//! separate stills instead reads the eyes and the head of the same photos differently (a
//! tracked crop is not the detector's crop), so the two would not give the same profile.
//!
//! A calibration that cannot be trusted is refused with the reason, the words the page
//! shows, and nothing is written.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{Context, bail};
use focus_vision::{
    FaceAnalyzer, FaceTracker, Profile,
    calibration::{Calibration, CalibrationPoint, CalibrationRules},
};

use super::CalibrateArgs;
use crate::calibration::MAX_ZONES;
use crate::profiles::check_zone_name_length;

/// The photos per point, in [`CalibrationPoint::ALL`] order.
fn points(args: &CalibrateArgs) -> [(CalibrationPoint, &[PathBuf]); 5] {
    [
        (CalibrationPoint::Center, &args.center),
        (CalibrationPoint::TopLeft, &args.top_left),
        (CalibrationPoint::TopRight, &args.top_right),
        (CalibrationPoint::BottomLeft, &args.bottom_left),
        (CalibrationPoint::BottomRight, &args.bottom_right),
    ]
}

/// `NAME=FILE` pairs grouped by name, in first-seen order; names as the page allows them
/// (at most [`crate::profiles::ZONE_NAME_MAX_CHARS`] characters), at most [`MAX_ZONES`] zones.
fn zones(specs: &[String]) -> anyhow::Result<Vec<(String, Vec<PathBuf>)>> {
    let mut out: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for spec in specs {
        let Some((name, file)) = spec.split_once('=') else {
            bail!("--zone {spec:?}: expected NAME=FILE, e.g. notes=desk.jpg");
        };
        let (name, file) = (name.trim(), PathBuf::from(file.trim()));
        if name.is_empty() {
            bail!("--zone {spec:?}: the zone needs a name");
        }
        if let Err(e) = check_zone_name_length(name, "zone") {
            bail!("--zone {spec:?}: {e}");
        }
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, files)) => files.push(file),
            None => out.push((name.to_owned(), vec![file])),
        }
    }
    if out.len() > MAX_ZONES {
        bail!(
            "a profile has at most {MAX_ZONES} zones; --zone names {}",
            out.len()
        );
    }
    Ok(out)
}

/// One calibration's frames, as the page takes them: `points`' files in order are the
/// consecutive frames of one stream, analysed by one tracker, each frame's numbers added at
/// its point.
fn calibrate_stream(
    analyzer: &Arc<FaceAnalyzer>,
    points: &[(CalibrationPoint, &[PathBuf])],
) -> anyhow::Result<Calibration> {
    let mut tracker = FaceTracker::new(Arc::clone(analyzer));
    let mut calibration = Calibration::new(CalibrationRules::default());
    for &(point, files) in points {
        for file in files {
            let bytes =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let analysis = tracker
                .analyze_bytes(&bytes)
                .with_context(|| format!("cannot analyse {}", file.display()))?;
            calibration.add(point, &analysis);
        }
    }
    Ok(calibration)
}

/// Builds the profile (screen and zones) from the photos.
fn build_profile(analyzer: &Arc<FaceAnalyzer>, args: &CalibrateArgs) -> anyhow::Result<Profile> {
    let zones = zones(&args.zone)?;
    let mut profile = calibrate_stream(analyzer, &points(args))?
        .build()
        .context("calibration refused")?;
    for (name, files) in zones {
        let zone = calibrate_stream(analyzer, &[(CalibrationPoint::Center, &files)])?
            .build_zone(&name, &profile)
            .with_context(|| format!("the {name} zone was refused"))?;
        profile.set_zone(zone);
    }
    // What the app checks before it stores a profile.
    profile.check().context("the profile cannot be used")?;
    Ok(profile)
}

fn describe(profile: &Profile, out: &Path) -> String {
    let g = &profile.screen.gaze;
    let mut text = format!(
        "wrote {} ({} calibration): screen at gaze yaw {:.0}..{:.0} deg, pitch {:.0}..{:.0} deg; head at rest yaw {:.0}, pitch {:.0} deg; open eyes EAR {:.2}, blink {:.2}",
        out.display(),
        match profile.mode {
            focus_vision::profile::CalibrationMode::Quick => "quick",
            focus_vision::profile::CalibrationMode::Full => "full",
        },
        g.yaw_min_deg,
        g.yaw_max_deg,
        g.pitch_min_deg,
        g.pitch_max_deg,
        profile.head_rest.yaw_deg,
        profile.head_rest.pitch_deg,
        profile.eyes.openness,
        profile.eyes.blink,
    );
    for zone in &profile.zones {
        let (yaw, pitch) = zone.target.gaze.centre();
        text.push_str(&format!(
            "; zone {:?} at gaze yaw {yaw:.0}, pitch {pitch:.0} deg",
            zone.name
        ));
    }
    text
}

/// Runs `focus-sentry calibrate`.
pub fn run_calibrate(args: CalibrateArgs) -> anyhow::Result<()> {
    let analyzer = FaceAnalyzer::embedded().context("cannot load the vision models")?;
    let profile = build_profile(&Arc::new(analyzer), &args)?;
    std::fs::write(&args.out, profile.to_json() + "\n")
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!("{}", describe(&profile, &args.out));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_specs_group_by_name() {
        let z = zones(&[
            "notes=a.jpg".to_owned(),
            "second monitor=b.jpg".to_owned(),
            "notes = c.jpg".to_owned(),
        ])
        .expect("parses");
        assert_eq!(
            z,
            vec![
                (
                    "notes".to_owned(),
                    vec![PathBuf::from("a.jpg"), PathBuf::from("c.jpg")]
                ),
                ("second monitor".to_owned(), vec![PathBuf::from("b.jpg")]),
            ]
        );
        assert!(zones(&["notes".to_owned()]).is_err());
        assert!(zones(&["=a.jpg".to_owned()]).is_err());
        // The page's limits: a 40-character name, 8 zones.
        assert!(zones(&[format!("{}=a.jpg", "n".repeat(40))]).is_ok());
        let long = zones(&[format!("{}=a.jpg", "n".repeat(41))]).expect_err("too long");
        assert!(long.to_string().contains("at most 40 characters"), "{long}");
        let specs: Vec<String> = (0..9).map(|i| format!("zone {i}=a.jpg")).collect();
        assert!(zones(&specs[..8]).is_ok());
        let many = zones(&specs).expect_err("too many");
        assert!(many.to_string().contains("at most 8 zones"), "{many}");
    }
}
