//! A small wall-clock sampler for noisy machines.
//!
//! Each implementation under test is a *batch function* `FnMut(iters)` that runs its
//! operation `iters` times. The sampler calibrates a batch size per function so that one
//! batch takes about `ms` milliseconds, then runs `rounds` rounds; in every round each
//! function runs one batch, in forward order on even rounds and in reverse order on odd
//! rounds (A B, B A, A B, …), so slow drift and "who runs first" effects hit all
//! functions alike. The result is one ns-per-iteration sample per function per round.
//! Compare functions with [`paired_ratios`] (per-round ratios) rather than with the
//! ratio of two medians: a disturbance that slows one whole round cancels out of it.

use std::time::Instant;

/// A function that runs the measured operation a given number of times.
pub type BatchFn<'a> = Box<dyn FnMut(u64) + 'a>;

/// How long and how often to sample.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Target duration of one batch, in milliseconds.
    pub ms: f64,
    /// Number of interleaved rounds (samples per function).
    pub rounds: usize,
}

fn time_batch(f: &mut dyn FnMut(u64), iters: u64) -> f64 {
    let t = Instant::now();
    f(iters);
    t.elapsed().as_secs_f64() * 1e9
}

/// The number of iterations for which one batch of `f` takes about `ms` milliseconds.
pub fn calibrate(f: &mut dyn FnMut(u64), ms: f64) -> u64 {
    let target = ms * 1e6;
    let mut iters = 1u64;
    loop {
        let ns = time_batch(f, iters);
        if ns >= target / 8.0 || iters >= 1 << 40 {
            // Take the faster of two measurements at this size to dodge a preemption.
            let ns = ns.min(time_batch(f, iters)).max(1.0);
            return ((iters as f64) * target / ns).max(1.0) as u64;
        }
        iters *= 4;
    }
}

/// Runs the functions interleaved and returns, per function, its ns-per-iteration
/// samples in round order.
pub fn sample(fs: &mut [BatchFn<'_>], plan: Plan) -> Vec<Vec<f64>> {
    let iters: Vec<u64> = fs.iter_mut().map(|f| calibrate(f, plan.ms)).collect();
    let mut out = vec![Vec::with_capacity(plan.rounds); fs.len()];
    let n = fs.len();
    for round in 0..plan.rounds {
        for k in 0..n {
            let i = if round % 2 == 0 { k } else { n - 1 - k };
            let ns = time_batch(&mut fs[i], iters[i]);
            out[i].push(ns / iters[i] as f64);
        }
    }
    out
}

/// The `q`-quantile (0.0 ..= 1.0) of `xs`, by linear interpolation; NaN when empty.
pub fn quantile(xs: &[f64], q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// The median of `xs`.
pub fn median(xs: &[f64]) -> f64 {
    quantile(xs, 0.5)
}

/// Per-round ratios `a[r] / b[r]`.
pub fn paired_ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x / y).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.25), 2.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn sample_shape_and_order() {
        let log = std::cell::RefCell::new(Vec::new());
        let mut fs: Vec<BatchFn<'_>> = vec![
            Box::new(|n| log.borrow_mut().push(('a', n))),
            Box::new(|n| log.borrow_mut().push(('b', n))),
        ];
        let plan = Plan {
            ms: 0.001,
            rounds: 3,
        };
        let s = sample(&mut fs, plan);
        assert_eq!(s.len(), 2);
        assert!(s.iter().all(|v| v.len() == 3));
        let log = log.borrow();
        let order: String = log[log.len() - 6..].iter().map(|(c, _)| *c).collect();
        assert_eq!(order, "abbaab");
    }
}
