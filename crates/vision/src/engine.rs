//! Inference behind a small trait: the pipeline only needs "run this network on one `f32`
//! tensor and give me its outputs by name". [`RtenEngine`] does that with `rten`, a pure-Rust
//! runtime that reads `.onnx` directly. Another engine plugs in without touching the
//! pipeline; the tests' fake engine (`tests/fake_engine.rs`) answers with chosen outputs to
//! check the pipeline's logic, such as when the tracker runs the detector.

use std::sync::Arc;

use rten::{ModelOptions, RunOptions, ThreadPool};
use rten_tensor::{Tensor, prelude::*};

use crate::Error;

/// A dense `f32` tensor: row-major data and its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorF32 {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// One loaded network with a single `f32` input.
pub trait Network: Send + Sync + std::fmt::Debug {
    /// Runs the network on `input` (whose shape must match the model's input) and returns the
    /// requested outputs, in the order of `outputs` (ONNX output names).
    fn run(
        &self,
        input: &[f32],
        shape: &[usize],
        outputs: &[&str],
    ) -> Result<Vec<TensorF32>, Error>;
}

/// Something that turns ONNX bytes into runnable [`Network`]s.
pub trait InferenceEngine: std::fmt::Debug {
    fn load(&self, name: &str, onnx: &'static [u8]) -> Result<Box<dyn Network>, Error>;
}

/// The `rten` engine.
///
/// `threads: None` runs every network on rten's global pool (one thread per physical core):
/// the fastest single frame, and what [`crate::FaceAnalyzer::embedded`] uses (so the CLI and
/// the web server do). `Some(n)` gives each calling thread its own pool of `n` threads, so
/// concurrent callers never queue behind each other on a shared pool; the benches use
/// `Some(1)` to measure one core.
#[derive(Debug, Clone, Default)]
pub struct RtenEngine {
    threads: Option<usize>,
}

impl RtenEngine {
    pub fn new(threads: Option<usize>) -> Self {
        Self { threads }
    }
}

thread_local! {
    /// Per-calling-thread pools by size, for [`RtenEngine`] with `Some(n)` threads.
    static LOCAL_POOLS: std::cell::RefCell<Vec<(usize, Arc<ThreadPool>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// This thread's own pool of `n` threads, created on first use.
fn local_pool(n: usize) -> Arc<ThreadPool> {
    LOCAL_POOLS.with(|pools| {
        let mut pools = pools.borrow_mut();
        if let Some((_, pool)) = pools.iter().find(|(size, _)| *size == n) {
            return pool.clone();
        }
        let pool = Arc::new(ThreadPool::with_num_threads(n));
        pools.push((n, pool.clone()));
        pool
    })
}

impl InferenceEngine for RtenEngine {
    fn load(&self, name: &str, onnx: &'static [u8]) -> Result<Box<dyn Network>, Error> {
        // Prepacked weights cost a little memory and load time and save ~10% per run.
        let model = ModelOptions::with_all_ops()
            .prepack_weights(true)
            .load_static_slice(onnx)
            .map_err(|e| Error::Model(format!("loading {name}: {e}")))?;
        Ok(Box::new(RtenNetwork {
            name: name.to_owned(),
            model,
            threads: self.threads,
        }))
    }
}

struct RtenNetwork {
    name: String,
    model: rten::Model,
    threads: Option<usize>,
}

impl std::fmt::Debug for RtenNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtenNetwork")
            .field("name", &self.name)
            .finish()
    }
}

impl Network for RtenNetwork {
    fn run(
        &self,
        input: &[f32],
        shape: &[usize],
        outputs: &[&str],
    ) -> Result<Vec<TensorF32>, Error> {
        let err = |what: String| Error::Model(format!("{}: {what}", self.name));
        let input_id = *self
            .model
            .input_ids()
            .first()
            .ok_or_else(|| err("model has no input".into()))?;
        let output_ids = outputs
            .iter()
            .map(|o| {
                self.model
                    .find_node(o)
                    .ok_or_else(|| err(format!("no output named {o}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tensor = Tensor::from_data(shape, input.to_vec());
        let opts = self
            .threads
            .map(|n| RunOptions::default().with_thread_pool(Some(local_pool(n.max(1)))));
        let values = self
            .model
            .run(vec![(input_id, tensor.into())], &output_ids, opts)
            .map_err(|e| err(e.to_string()))?;
        values
            .into_iter()
            .map(|v| {
                let t: Tensor<f32> = v.try_into().map_err(|e| err(format!("{e:?}")))?;
                Ok(TensorF32 {
                    shape: t.shape().to_vec(),
                    data: t.to_vec(),
                })
            })
            .collect()
    }
}
