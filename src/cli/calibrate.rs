//! `focus-sentry calibrate --out PROFILE.json --center FILE... [--top-left FILE...] ...`:
//! a calibration profile from photos of the user looking at the screen's centre (and
//! corners), built by the same [`Calibration`] the app's calibration page uses.
//!
//! A calibration that cannot be trusted is refused with the reason, and nothing is written.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use focus_vision::{
    FaceAnalyzer, Profile,
    calibration::{Calibration, CalibrationPoint, CalibrationRules},
};

use super::CalibrateArgs;

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

/// `NAME=FILE` pairs grouped by name, in first-seen order.
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
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, files)) => files.push(file),
            None => out.push((name.to_owned(), vec![file])),
        }
    }
    Ok(out)
}

/// Analyses `files` and adds them to `calibration` as frames at `point`.
fn add_photos(
    analyzer: &FaceAnalyzer,
    calibration: &mut Calibration,
    point: CalibrationPoint,
    files: &[PathBuf],
) -> anyhow::Result<()> {
    for file in files {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let analysis = analyzer
            .analyze_bytes(&bytes)
            .with_context(|| format!("cannot analyse {}", file.display()))?;
        calibration.add(point, &analysis);
    }
    Ok(())
}

/// Builds the profile (screen and zones) from the photos.
fn build_profile(analyzer: &FaceAnalyzer, args: &CalibrateArgs) -> anyhow::Result<Profile> {
    let mut screen = Calibration::new(CalibrationRules::default());
    for (point, files) in points(args) {
        add_photos(analyzer, &mut screen, point, files)?;
    }
    let mut profile = screen.build().context("calibration refused")?;
    for (name, files) in zones(&args.zone)? {
        let mut zone = Calibration::new(CalibrationRules::default());
        add_photos(analyzer, &mut zone, CalibrationPoint::Center, &files)?;
        let zone = zone
            .build_zone(&name, &profile)
            .with_context(|| format!("the {name} zone was refused"))?;
        profile.set_zone(zone);
    }
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
    let profile = build_profile(&analyzer, &args)?;
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
    }
}
