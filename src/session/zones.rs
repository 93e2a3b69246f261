//! A session's extra zones ("notes", "second monitor") by name, numbered for the clock.
//!
//! The clock keeps focused time per zone by number ([`ZoneId`]); the session keeps the
//! names: its profile's zones as they were when it started (in the profile's order), then
//! any name the store had time for that is no longer among them (a zone renamed while the
//! session was interrupted), then any name a frame reports that is new. Numbers never
//! change during a session, so the clock's totals stay with their names.

use focus_clock::{Attention, ZoneId, ZoneTimes};
use focus_store::ZoneTime;

/// The names of a session's zones, by the clock's numbers.
#[derive(Debug, Clone, Default)]
pub(super) struct SessionZones {
    names: Vec<String>,
}

impl SessionZones {
    /// The zones of a session whose profile had `profile_zones` at its start and whose
    /// stored totals have time for `stored` (empty for a new session).
    pub(super) fn new(profile_zones: &[String], stored: &[ZoneTime]) -> Self {
        let mut zones = SessionZones::default();
        for name in profile_zones.iter().chain(stored.iter().map(|z| &z.zone)) {
            zones.id(name);
        }
        zones
    }

    /// The number of zone `name`, numbering it if it is new; `None` when the clock has no
    /// room for another ([`MAX_ZONES`](focus_clock::MAX_ZONES): the time then counts as on
    /// the screen).
    fn id(&mut self, name: &str) -> Option<ZoneId> {
        if let Some(at) = self.names.iter().position(|n| n == name) {
            return ZoneId::new(at);
        }
        let id = ZoneId::new(self.names.len())?;
        self.names.push(name.to_owned());
        Some(id)
    }

    /// A frame's verdict with its zone: `screen` is the verdict without one
    /// ([`attention_of`](super::attention_of)), `zone` the name the frame was focused on.
    pub(super) fn attention(&mut self, screen: Attention, zone: Option<&str>) -> Attention {
        match (screen, zone) {
            (Attention::Focused, Some(name)) => self
                .id(name)
                .map_or(Attention::Focused, Attention::FocusedOn),
            (other, _) => other,
        }
    }

    /// Stored zone time as the clock's, to restore a clock from.
    pub(super) fn clock_times(&mut self, stored: &[ZoneTime]) -> ZoneTimes {
        let mut times = ZoneTimes::default();
        for z in stored {
            if let Some(id) = self.id(&z.zone) {
                times.set(id, z.ms);
            }
        }
        times
    }

    /// The clock's zone time by name, every zone of the session (0 for those not looked
    /// at), in order.
    pub(super) fn zone_time(&self, times: &ZoneTimes) -> Vec<ZoneTime> {
        (self.names.iter().enumerate())
            .filter_map(|(at, name)| {
                let id = ZoneId::new(at)?;
                Some(ZoneTime {
                    zone: name.clone(),
                    ms: times.get(id),
                })
            })
            .collect()
    }

    /// The name of zone `id`.
    pub(super) fn name(&self, id: ZoneId) -> Option<&str> {
        self.names.get(id.index()).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use focus_clock::MAX_ZONES;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn profile_zones_then_stored_then_new_names_keep_their_numbers() {
        let stored = vec![
            ZoneTime {
                zone: "notes".into(),
                ms: 4_000,
            },
            ZoneTime {
                zone: "old name".into(),
                ms: 1_000,
            },
        ];
        let mut zones = SessionZones::new(&names(&["notes", "tv"]), &stored);
        let times = zones.clock_times(&stored);
        let tv = zones.attention(Attention::Focused, Some("tv"));
        assert_eq!(
            tv,
            ZoneId::new(1).map_or(Attention::Focused, Attention::FocusedOn)
        );
        let fresh = zones.attention(Attention::Focused, Some("desk"));
        assert_eq!(fresh.zone().map(ZoneId::index), Some(3));
        assert_eq!(
            zones.attention(Attention::Focused, None),
            Attention::Focused
        );
        let away = Attention::Unfocused(focus_clock::Reason::LookingAway);
        assert_eq!(zones.attention(away, Some("notes")), away);
        let by_name: Vec<(String, u64)> = (zones.zone_time(&times).into_iter())
            .map(|z| (z.zone, z.ms))
            .collect();
        assert_eq!(
            by_name,
            [
                ("notes".to_owned(), 4_000),
                ("tv".to_owned(), 0),
                ("old name".to_owned(), 1_000),
                ("desk".to_owned(), 0)
            ]
        );
    }

    #[test]
    fn past_max_zones_the_time_counts_on_the_screen() {
        let many: Vec<String> = (0..MAX_ZONES).map(|i| format!("zone {i}")).collect();
        let mut zones = SessionZones::new(&many, &[]);
        assert_eq!(
            zones.attention(Attention::Focused, Some("one too many")),
            Attention::Focused
        );
        assert_eq!(zones.zone_time(&ZoneTimes::default()).len(), MAX_ZONES);
    }
}
