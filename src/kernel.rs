//! A [`NeuronDynamics`] made into the object-safe [`NeuronModel`] the core stores, with
//! the cpu engine's fused loop for it; the one place that selects CPU features at run time.
//!
//! `unsafe` is allowed here only: calling the AVX2 build of the loop after checking that
//! the CPU has AVX2. Both builds run the same IEEE operations (Rust never contracts
//! `a * b + c` into an FMA), so results are bit-identical with and without AVX2.
#![expect(unsafe_code, reason = "the AVX2 build of the fused loop is called after a run-time feature check")]

use std::marker::PhantomData;
use std::sync::Arc;

use crate::api::model::{ChoiceSpec, Col, ColMask, MAX_VARS, NeuronDynamics, NeuronModel, ParamSpec, Params, PreparedModel, ReceptorSpec, VarSpec};

/// Neurons per block of the fused loop.
const BLOCK: usize = 16;

/// Update + threshold + reset of neurons `offset..offset + n` in one pass.
/// `inputs[r]` is empty for a receptor that receives nothing (read as 0).
pub(crate) fn fused_step<M: NeuronDynamics>(coeffs: &M::Coeffs, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { fused_avx2::<M>(coeffs, vars, inputs, offset, spikes) };
        return;
    }
    fused_block_loop::<M>(coeffs, vars, inputs, offset, spikes);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn fused_avx2<M: NeuronDynamics>(coeffs: &M::Coeffs, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
    fused_block_loop::<M>(coeffs, vars, inputs, offset, spikes);
}

#[inline(always)]
fn fused_block_loop<M: NeuronDynamics>(coeffs: &M::Coeffs, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
    let nv = M::VARS.len();
    let nr = M::RECEPTORS.len();
    let n = vars.first().map_or(0, |v| v.len());
    assert!(vars.len() == nv && inputs.len() == nr && vars.iter().all(|v| v.len() == n) && inputs.iter().all(|v| v.len() == n || v.is_empty()));
    // NOTE: update, threshold and reset happen in one pass, a block of neurons at a
    // time: the block is copied into fixed-size arrays so that the per-neuron math (the
    // model's `step` on f64 lanes, branch-free selects) compiles to SIMD without bounds
    // checks; lanes past the end of a short block compute on stale values and are
    // discarded.
    let mut st = [[0.0f64; BLOCK]; MAX_VARS];
    let mut inp = [[0.0f64; BLOCK]; MAX_VARS];
    let mut spk = [false; BLOCK];
    let mut base = 0;
    while base < n {
        let len = BLOCK.min(n - base);
        if len == BLOCK {
            // Fixed-size copies compile to inline vector moves (no memcpy calls).
            for k in 0..nv {
                st[k] = *<&[f64; BLOCK]>::try_from(&vars[k][base..base + BLOCK]).expect("full block");
            }
            for r in 0..nr {
                if inputs[r].is_empty() {
                    continue; // a receptor nothing projects to: its lanes stay 0
                }
                let src = <&mut [f64; BLOCK]>::try_from(&mut inputs[r][base..base + BLOCK]).expect("full block");
                inp[r] = *src;
                *src = [0.0; BLOCK];
            }
        } else {
            for k in 0..nv {
                st[k][..len].copy_from_slice(&vars[k][base..base + len]);
            }
            for r in 0..nr {
                if inputs[r].is_empty() {
                    continue;
                }
                let src = &mut inputs[r][base..base + len];
                inp[r][..len].copy_from_slice(src);
                src.fill(0.0);
            }
        }
        for i in 0..BLOCK {
            let mut s = [0.0f64; MAX_VARS];
            let mut x = [0.0f64; MAX_VARS];
            for k in 0..nv {
                s[k] = st[k][i];
            }
            for r in 0..nr {
                x[r] = inp[r][i];
            }
            spk[i] = M::step::<f64>(coeffs, &mut s[..nv], &x[..nr]);
            for k in 0..nv {
                st[k][i] = s[k];
            }
        }
        if len == BLOCK {
            for k in 0..nv {
                *<&mut [f64; BLOCK]>::try_from(&mut vars[k][base..base + BLOCK]).expect("full block") = st[k];
            }
        } else {
            for k in 0..nv {
                vars[k][base..base + len].copy_from_slice(&st[k][..len]);
            }
        }
        for (i, &f) in spk[..len].iter().enumerate() {
            if f {
                spikes.push(offset + (base + i) as u32);
            }
        }
        base += len;
    }
}


/// The object-safe model the registry stores for `M`. The caller has checked that `M`
/// declares at most [`MAX_VARS`] variables and receptors.
pub(crate) fn neuron_model<M: NeuronDynamics>() -> Arc<dyn NeuronModel> {
    Arc::new(DynamicsModel::<M>(PhantomData))
}

struct DynamicsModel<M: NeuronDynamics>(PhantomData<M>);

struct Prepared<M: NeuronDynamics> {
    coeffs: M::Coeffs,
    initial: Vec<f64>,
}

impl<M: NeuronDynamics> NeuronModel for DynamicsModel<M> {
    fn name(&self) -> &'static str {
        M::NAME
    }
    fn doc(&self) -> &'static str {
        M::DOC
    }
    fn params(&self) -> &'static [ParamSpec] {
        M::PARAMS
    }
    fn choices(&self) -> &'static [ChoiceSpec] {
        M::CHOICES
    }
    fn vars(&self) -> &'static [VarSpec] {
        M::VARS
    }
    fn receptors(&self) -> &'static [ReceptorSpec] {
        M::RECEPTORS
    }
    fn prepare(&self, params: &Params, dt_ms: f64) -> Result<Arc<dyn PreparedModel>, String> {
        let coeffs = M::coeffs(params, dt_ms)?;
        let initial = M::initial(params);
        if initial.len() != M::VARS.len() {
            return Err(format!("model `{}` gives {} initial values for {} state variables (a bug in the plugin)", M::NAME, initial.len(), M::VARS.len()));
        }
        Ok(Arc::new(Prepared::<M> { coeffs, initial }))
    }
}

impl<M: NeuronDynamics> PreparedModel for Prepared<M> {
    fn initial(&self) -> Vec<f64> {
        self.initial.clone()
    }

    fn step_cpu(&self, vars: &mut [&mut [f64]], inputs: &mut [&mut [f64]], offset: u32, spikes: &mut Vec<u32>) {
        fused_step::<M>(&self.coeffs, vars, inputs, offset, spikes);
    }

    fn step_tensor(&self, vars: &mut [Col], inputs: &[Col]) -> ColMask {
        M::step::<Col>(&self.coeffs, vars, inputs)
    }
}
