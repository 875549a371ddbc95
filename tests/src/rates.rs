//! Throughput of a call made by several callers at once, for the
//! benchmarks that set our paths beside the emulator's own speed.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Calls per second that succeeded, `callers` calling `call(caller, round)`
/// one after another each for `window`.
pub async fn completions_per_s<F, Fut>(callers: usize, window: Duration, call: F) -> f64
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + window;
    let workers: Vec<_> = (0..callers)
        .map(|caller| {
            let (call, done) = (call.clone(), done.clone());
            tokio::spawn(async move {
                let mut round = 0;
                while Instant::now() < deadline {
                    if call(caller, round).await {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    round += 1;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("a caller finishes");
    }
    done.load(Ordering::Relaxed) as f64 / window.as_secs_f64()
}
