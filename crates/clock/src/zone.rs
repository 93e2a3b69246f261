//! Extra zones: where a focused user is looking when it is not the screen ("notes", "second
//! monitor"). The clock knows them by number ([`ZoneId`]); the caller keeps the names. Time
//! in each is kept in [`ZoneTimes`], a part of the focused time.

use std::fmt;

use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How many zones one clock keeps time for: ids `0..MAX_ZONES`. A profile has at most 8;
/// the rest leaves room for zones renamed while a session was interrupted.
pub const MAX_ZONES: usize = 16;

/// One extra zone, by its number in the caller's list of the session's zones
/// (`0..`[`MAX_ZONES`]). Serialised as that number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct ZoneId(u8);

impl ZoneId {
    /// The zone numbered `index`, or `None` past [`MAX_ZONES`].
    pub fn new(index: usize) -> Option<Self> {
        (index < MAX_ZONES)
            .then(|| u8::try_from(index).ok().map(ZoneId))
            .flatten()
    }

    /// Its number, `0..MAX_ZONES`.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl TryFrom<u8> for ZoneId {
    type Error = String;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        ZoneId::new(usize::from(value))
            .ok_or_else(|| format!("zone {value} is not below {MAX_ZONES}"))
    }
}

impl From<ZoneId> for u8 {
    fn from(zone: ZoneId) -> u8 {
        zone.0
    }
}

/// Focused time per zone, ms, indexed by [`ZoneId`]. Their sum is at most the focused time:
/// the rest of it was on the screen.
///
/// Serialised as a list of ms by zone number, without trailing zeros (`[6500, 0, 3000]`;
/// `[]` when no zone has time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ZoneTimes([u64; MAX_ZONES]);

impl ZoneTimes {
    /// The time in `zone`.
    pub const fn get(&self, zone: ZoneId) -> u64 {
        self.0[zone.index()]
    }

    /// Adds `ms` to `zone` (saturating).
    pub fn add(&mut self, zone: ZoneId, ms: u64) {
        let slot = &mut self.0[zone.index()];
        *slot = slot.saturating_add(ms);
    }

    /// Sets `zone`'s time.
    pub fn set(&mut self, zone: ZoneId, ms: u64) {
        self.0[zone.index()] = ms;
    }

    /// The time in every zone together.
    pub fn total_ms(&self) -> u64 {
        self.0.iter().fold(0, |sum, &ms| sum.saturating_add(ms))
    }

    /// No zone has any time.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&ms| ms == 0)
    }

    /// Every zone's time, by number (zeros included): `MAX_ZONES` values.
    pub fn as_slice(&self) -> &[u64] {
        &self.0
    }
}

impl Serialize for ZoneTimes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let used = self
            .0
            .iter()
            .rposition(|&ms| ms > 0)
            .map_or(0, |last| last + 1);
        let mut seq = serializer.serialize_seq(Some(used))?;
        for ms in &self.0[..used] {
            seq.serialize_element(ms)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for ZoneTimes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct List;
        impl<'de> Visitor<'de> for List {
            type Value = ZoneTimes;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a list of at most {MAX_ZONES} durations in ms")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ZoneTimes, A::Error> {
                let mut times = ZoneTimes::default();
                let mut at = 0;
                while let Some(ms) = seq.next_element::<u64>()? {
                    let Some(slot) = times.0.get_mut(at) else {
                        return Err(serde::de::Error::invalid_length(at + 1, &self));
                    };
                    *slot = ms;
                    at += 1;
                }
                Ok(times)
            }
        }
        deserializer.deserialize_seq(List)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stop_at_max_zones() {
        assert_eq!(ZoneId::new(0).map(ZoneId::index), Some(0));
        assert_eq!(
            ZoneId::new(MAX_ZONES - 1).map(ZoneId::index),
            Some(MAX_ZONES - 1)
        );
        assert_eq!(ZoneId::new(MAX_ZONES), None);
        assert_eq!(ZoneId::new(usize::MAX), None);
        assert!(serde_json::from_str::<ZoneId>("16").is_err());
    }

    #[test]
    fn times_serialise_without_trailing_zeros_and_round_trip() -> Result<(), serde_json::Error> {
        let mut times = ZoneTimes::default();
        assert_eq!(serde_json::to_string(&times)?, "[]");
        let (Some(notes), Some(monitor)) = (ZoneId::new(0), ZoneId::new(2)) else {
            panic!("ids 0 and 2 exist");
        };
        times.add(notes, 6_500);
        times.add(monitor, 3_000);
        assert_eq!(serde_json::to_string(&times)?, "[6500,0,3000]");
        assert_eq!(serde_json::from_str::<ZoneTimes>("[6500,0,3000]")?, times);
        assert_eq!(times.total_ms(), 9_500);
        assert!(serde_json::from_str::<ZoneTimes>(&format!("{:?}", [1; 17])).is_err());
        Ok(())
    }
}
