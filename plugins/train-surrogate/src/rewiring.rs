//! SpikingFlow's `AdamRewiring` (softbp.optim; Bellec et al. 2018, "Deep Rewiring", moved
//! onto Adam): Adam, then an L1 step toward zero, then Gaussian noise, and every parameter
//! that would cross zero (leave the sign it started with) becomes dormant: 0 for the rest of
//! training. What SpikingFlow's code does, per parameter tensor `p` (f32), in step k:
//!
//! ```text
//! first step: sign = sign(p), dormant = (p ≠ 0)
//! g = grad + weight_decay·p;  m = β₁m + (1 − β₁)g;  v = β₂v + (1 − β₂)g²
//! denom = √v / √(1 − β₂ᵏ) + ε;  s = lr / (1 − β₁ᵏ)
//! p = p − s·m/denom;  p = p − l1·s·sign;  p = p + N(0, 1)·T·s
//! p = max(p·dormant·sign, 0)·sign;  dormant = (p ≠ 0)
//! ```
//!
//! (β₁ = 0.9, β₂ = 0.999, ε = 1e-8.) The noise of parameter tensor i in step k comes from
//! the stream (seed, i, REWIRING, k), one normal draw per element in order, so a run is
//! reproducible and a resumed run draws the same noise.

use burn::module::Param;
use burn::optim::{GradientsParams, LearningRate, MultiGradientsParams, Optimizer};
use burn::tensor::{Tensor, TensorData};
use spikeworld::util::rng::{Stream, purpose};

use burn::tensor::backend::AutodiffBackend;

use crate::net::Params;

/// The optimizer and its state.
#[derive(Clone, Debug)]
pub struct AdamRewiring {
    /// Temperature T of the noise.
    pub temperature: f64,
    /// L1 penalty.
    pub l1: f64,
    /// L2 weight decay (added to the gradient).
    pub weight_decay: f64,
    /// Seed of the noise.
    pub seed: u64,
    /// Steps taken.
    pub step: u64,
    /// Per parameter tensor: (m, v, sign, dormant), empty before the first step.
    pub state: Vec<[Vec<f32>; 4]>,
}

const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPS: f32 = 1e-8;

impl AdamRewiring {
    /// A fresh optimizer.
    pub fn new(temperature: f64, l1: f64, weight_decay: f64, seed: u64) -> AdamRewiring {
        AdamRewiring { temperature, l1, weight_decay, seed, step: 0, state: Vec::new() }
    }

    /// One step of tensor `i` (values `p`, gradient `g`), in place.
    fn update(&mut self, i: usize, lr: f64, p: &mut [f32], g: &[f32]) {
        if self.state.len() <= i {
            self.state.resize_with(i + 1, || [Vec::new(), Vec::new(), Vec::new(), Vec::new()]);
        }
        let k = self.step as i32;
        let (temperature, l1, wd) = (self.temperature as f32, self.l1 as f32, self.weight_decay as f32);
        let [m, v, sign, dormant] = &mut self.state[i];
        if m.is_empty() {
            *m = vec![0.0; p.len()];
            *v = vec![0.0; p.len()];
            *sign = p.iter().map(|&x| if x > 0.0 { 1.0 } else if x < 0.0 { -1.0 } else { 0.0 }).collect();
            *dormant = p.iter().map(|&x| if x != 0.0 { 1.0 } else { 0.0 }).collect();
        }
        let bc1 = 1.0 - BETA1.powi(k);
        let bc2 = 1.0 - BETA2.powi(k);
        let step_size = lr as f32 / bc1;
        let mut noise = Stream::new(self.seed, i as u32, purpose::REWIRING, self.step);
        for j in 0..p.len() {
            let gj = if wd != 0.0 { g[j] + p[j] * wd } else { g[j] };
            m[j] = m[j] * BETA1 + gj * (1.0 - BETA1);
            v[j] = v[j] * BETA2 + gj * gj * (1.0 - BETA2);
            let denom = v[j].sqrt() / bc2.sqrt() + EPS;
            let mut x = p[j] - step_size * (m[j] / denom);
            x -= l1 * step_size * sign[j];
            x += noise.normal() as f32 * temperature * step_size;
            x = (x * dormant[j] * sign[j]).max(0.0) * sign[j];
            dormant[j] = if x != 0.0 { 1.0 } else { 0.0 };
            p[j] = x;
        }
    }

    /// The fraction of dormant entries of every parameter tensor (NaN before the first step).
    pub fn dormant_fraction(&self) -> Vec<f64> {
        self.state.iter().map(|[_, _, _, d]| if d.is_empty() { f64::NAN } else { d.iter().filter(|&&x| x == 0.0).count() as f64 / d.len() as f64 }).collect()
    }

    fn step_tensor<B: AutodiffBackend, const D: usize>(&mut self, i: usize, lr: f64, param: Param<Tensor<B, D>>, grad: Option<Tensor<B::InnerBackend, D>>) -> Param<Tensor<B, D>> {
        let Some(grad) = grad else { return param };
        let id = param.id;
        let value = param.val();
        let device = value.device();
        let shape = value.shape();
        let mut p: Vec<f32> = value.into_data().convert::<f32>().to_vec().expect("f32 parameters");
        let g: Vec<f32> = grad.into_data().convert::<f32>().to_vec().expect("f32 gradients");
        self.update(i, lr, &mut p, &g);
        Param::initialized(id, Tensor::<B, D>::from_data(TensorData::new(p, shape), &device).require_grad())
    }
}

impl<B: AutodiffBackend> Optimizer<Params<B>, B> for AdamRewiring {
    type Record = Vec<Vec<f64>>;

    fn step(&mut self, lr: LearningRate, module: Params<B>, mut grads: GradientsParams) -> Params<B> {
        self.step += 1;
        let Params { weights, plif_w } = module;
        let n = weights.len();
        let weights = weights.into_iter().enumerate().map(|(i, w)| {
            let g = grads.remove::<B::InnerBackend, 2>(w.id);
            self.step_tensor(i, lr, w, g)
        }).collect();
        let plif_w = plif_w.into_iter().enumerate().map(|(i, w)| {
            let g = grads.remove::<B::InnerBackend, 1>(w.id);
            self.step_tensor(n + i, lr, w, g)
        }).collect();
        Params { weights, plif_w }
    }

    fn step_multi(&mut self, lr: LearningRate, module: Params<B>, grads: MultiGradientsParams) -> Params<B> {
        let mut one = GradientsParams::new();
        for (g, _) in grads.grads {
            one = g; // training runs on one device
        }
        self.step(lr, module, one)
    }

    /// `[[step], m₀, v₀, sign₀, dormant₀, m₁, ...]`.
    fn to_record(&self) -> Vec<Vec<f64>> {
        let mut r = vec![vec![self.step as f64]];
        for s in &self.state {
            r.extend(s.iter().map(|v| v.iter().map(|&x| f64::from(x)).collect()));
        }
        r
    }

    fn load_record(mut self, record: Vec<Vec<f64>>) -> Self {
        self.step = record.first().and_then(|s| s.first()).map_or(0, |&s| s as u64);
        self.state = record[1.min(record.len())..]
            .chunks(4)
            .map(|c| {
                let f = |k: usize| c.get(k).map_or_else(Vec::new, |v| v.iter().map(|&x| x as f32).collect());
                [f(0), f(1), f(2), f(3)]
            })
            .collect();
        self
    }
}
