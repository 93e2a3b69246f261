//! Inference behind a small trait: the pipeline only needs "run this network on one `f32`
//! tensor and give me its outputs by name". [`RtenEngine`] does that with `rten`, a pure-Rust
//! runtime that reads `.onnx` directly. Another engine plugs in without touching the
//! pipeline; the tests' fake engine (`tests/fake_engine.rs`) answers with chosen outputs to
//! check the pipeline's logic, such as when the tracker runs the detector.

use std::sync::Arc;

use rten::{ModelOptions, RunOptions, ThreadPool};
use rten_tensor::{Tensor, TensorView, prelude::*};

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
    /// requested outputs, in the order of `outputs` (ONNX output names). `input` is borrowed,
    /// read in place (not copied), so the caller can keep its buffer for the next frame (the
    /// mesh's is 786 KB).
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
/// the fastest single frame, and what [`crate::FaceAnalyzer::embedded`] uses (so the CLI
/// does; the web server runs its frames inside [`InferenceThread`]s). `Some(n)` gives each
/// calling thread its own pool of `n` threads, so concurrent callers never queue behind each
/// other on a shared pool; the benches use `Some(1)` to measure one core.
///
/// Either way, a network run inside [`InferenceThread::run`] runs on that thread alone.
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

thread_local! {
    /// The pool of the [`InferenceThread`] whose [`InferenceThread::run`] is running on this
    /// thread, if any.
    static CURRENT: std::cell::RefCell<Option<Arc<ThreadPool>>> =
        const { std::cell::RefCell::new(None) };
}

/// One thread on which whole frames run, networks included, one frame at a time.
///
/// [`InferenceThread::run`] moves a closure onto the thread (a one-thread rten pool) and
/// waits for it; every [`RtenEngine`] network the closure runs, whatever the engine's
/// `threads`, runs right there on that thread, with no other thread to hand work to. The
/// web server keeps one per inference slot: when every core already has a frame of its own
/// to analyse, splitting one frame's layers over the cores only adds the cost of splitting
/// (README, Load).
#[derive(Debug)]
pub struct InferenceThread {
    pool: Arc<ThreadPool>,
}

impl InferenceThread {
    /// Starts the thread (rten names it `rten-0`).
    pub fn new() -> Self {
        Self {
            pool: Arc::new(ThreadPool::with_num_threads(1)),
        }
    }

    /// Runs `op` on this thread and returns its result (a panic in `op` resumes here).
    pub fn run<R: Send>(&self, op: impl FnOnce() -> R + Send) -> R {
        let pool = Arc::clone(&self.pool);
        self.pool.run(move || {
            struct Reset(Option<Arc<ThreadPool>>);
            impl Drop for Reset {
                fn drop(&mut self) {
                    CURRENT.with(|current| *current.borrow_mut() = self.0.take());
                }
            }
            let _reset = Reset(CURRENT.with(|current| current.borrow_mut().replace(pool)));
            op()
        })
    }
}

impl Default for InferenceThread {
    fn default() -> Self {
        Self::new()
    }
}

/// The pool this thread's network runs use: the running [`InferenceThread`]'s, else this
/// thread's own pool of `threads` (if set), else rten's global pool (`None`).
fn pool_for(threads: Option<usize>) -> Option<Arc<ThreadPool>> {
    CURRENT
        .with(|current| current.borrow().clone())
        .or_else(|| threads.map(|n| local_pool(n.max(1))))
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
        let tensor = TensorView::from_data(shape, input);
        // Inside an `InferenceThread` its pool is the one running this code, so rten runs the
        // network inline (rayon's `install` from a pool's own worker calls straight through).
        let opts =
            pool_for(self.threads).map(|pool| RunOptions::default().with_thread_pool(Some(pool)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_run_inside_an_inference_thread_use_its_pool() {
        // Outside: the engine's own choice (rten's global pool, or this thread's pool).
        assert!(pool_for(None).is_none());
        let own = pool_for(Some(1)).expect("a pool of this thread's own");
        assert!(Arc::ptr_eq(&own, &local_pool(1)));

        // Inside: the inference thread's pool whatever the engine says, on that thread.
        let thread = InferenceThread::new();
        let caller = std::thread::current().id();
        let (inside, ran_on) = thread.run(|| {
            let pools = [pool_for(None), pool_for(Some(1)), pool_for(Some(3))];
            (pools, std::thread::current().id())
        });
        assert_ne!(ran_on, caller);
        for pool in inside {
            assert!(Arc::ptr_eq(&pool.expect("the thread's pool"), &thread.pool));
        }
        // A second run lands on the same thread, and nothing is left set after a run.
        assert_eq!(thread.run(|| std::thread::current().id()), ran_on);
        assert!(pool_for(None).is_none());
        assert!(thread.pool.run(|| pool_for(None).is_none()));
    }

    #[test]
    fn a_panic_in_an_inference_thread_reaches_the_caller_and_the_thread_goes_on() {
        let thread = InferenceThread::new();
        let panicked =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| thread.run(|| panic!("x"))));
        assert!(panicked.is_err());
        assert_eq!(thread.run(|| 2 + 2), 4);
        assert!(thread.run(|| pool_for(None).is_some()));
    }
}
