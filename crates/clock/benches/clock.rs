//! Criterion benchmarks of the focus clock's per-frame work: what the server does for every
//! webcam frame (`observe`, then `snapshot` for the reply) and on every idle tick. Figures
//! go in the README.
//!
//! Run: `cargo bench -p focus-clock --bench clock`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use focus_clock::{Attention, ClockParams, FocusClock, Reason};

/// Frames of a 25-minute session at 5 frames/s (200 ms apart): mostly focused, with a short
/// glance every minute, a 15 s drift (a break) every five minutes and blinks in between, so
/// the debounce, drift and break paths all run.
fn session_frames() -> Vec<(Attention, u64)> {
    let frames = 25 * 60 * 5;
    (0..frames)
        .map(|i| {
            let at_ms = 1_000 + i * 200;
            let second = (i / 5) % 300;
            let attention = match second {
                // A 15 s drift: a break at the default 10 s threshold.
                120..=134 => Attention::Unfocused(Reason::LookingAway),
                // 2 s glances once a minute.
                s if s % 60 == 30 || s % 60 == 31 => Attention::Unfocused(Reason::NoFace),
                // A blink: one odd frame, debounced away.
                s if s % 7 == 0 && i % 5 == 0 => Attention::Unfocused(Reason::EyesClosed),
                _ => Attention::Focused,
            };
            (attention, at_ms)
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let frames = session_frames();

    let mut group = c.benchmark_group("clock");
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.bench_function("observe + snapshot, 25 min session at 5 fps", |b| {
        b.iter_batched(
            || FocusClock::new(ClockParams::DEFAULT, 0),
            |mut clock| {
                for &(attention, at_ms) in &frames {
                    black_box(clock.observe(attention, at_ms));
                    black_box(clock.snapshot(at_ms));
                }
                clock.finish(frames.len() as u64 * 200 + 1_000)
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();

    // The idle path: a session whose camera went quiet is ticked twice a second.
    let mut clock = FocusClock::new(ClockParams::DEFAULT, 0);
    for &(attention, at_ms) in &frames[..50] {
        clock.observe(attention, at_ms);
    }
    let mut at_ms = 60_000;
    c.bench_function("clock/tick without frames", |b| {
        b.iter(|| {
            at_ms += 500;
            black_box(clock.tick(at_ms))
        });
    });
}

criterion_group!(clock, benches);
criterion_main!(clock);
