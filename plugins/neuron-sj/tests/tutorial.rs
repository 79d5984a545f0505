//! SpikingFlow's LIF tutorial (`scenarios/spikingflow_lif_tutorial.toml`): r = 9, tau = 20,
//! v_threshold = 1; 150 steps of input 0.1 (no spike) or 0.12 (spikes), then 50 steps of 0.

mod common;
use common::*;
use spikeworld::prelude::*;

/// The tutorial's loop, transcribed from `SpikingFlow.neuron.LIFNode.forward` for one
/// neuron; returns (v after each step, steps whose `forward` returned a spike).
fn tutorial(amplitude: f64) -> (Vec<f64>, Vec<usize>) {
    let (r, v_threshold, v_reset, tau) = (9.0, 1.0, 0.0, 20.0);
    let (mut v, mut next_out_spike) = (v_reset, false);
    let (mut v_list, mut spike_list) = (Vec::new(), Vec::new());
    for t in 0..200 {
        let i = if t < 150 { amplitude } else { 0.0 };
        let out_spike = next_out_spike;
        if out_spike {
            v = v_reset;
        }
        let v_decay = -(v - v_reset);
        v += (r * i + v_decay) / tau;
        next_out_spike = v >= v_threshold;
        if next_out_spike {
            v = v_threshold;
        }
        if v < v_reset {
            v = v_reset;
        }
        if out_spike {
            spike_list.push(t);
        }
        v_list.push(v);
    }
    (v_list, spike_list)
}

#[test]
fn spikingflow_lif_tutorial_spikes_at_0_12_but_not_at_0_1() {
    for engine in [EngineKind::Cpu, EngineKind::Tensor] {
        let sim = run_all(sim_from_file("spikingflow_lif_tutorial.toml", engine));
        let (t, idx) = spikes(&sim);
        let v = &states(&sim)[0];
        assert_eq!(v.len(), 400, "200 steps of 2 neurons");
        for (j, amplitude) in [0.1, 0.12].into_iter().enumerate() {
            let (want_v, want_spikes) = tutorial(amplitude);
            for (k, &w) in want_v.iter().enumerate() {
                assert!(v[k * 2 + j].to_bits() == w.to_bits(), "{engine:?}, input {amplitude}: v after step {k} is {}, SpikingFlow gives {w}", v[k * 2 + j]);
            }
            let got: Vec<usize> = t.iter().zip(&idx).filter(|&(_, &i)| i == j as i64).map(|(&t, _)| t as usize).collect();
            assert_eq!(got, want_spikes, "{engine:?}, input {amplitude}: spike steps");
        }
        let n01 = idx.iter().filter(|&&i| i == 0).count();
        let n012 = idx.iter().filter(|&&i| i == 1).count();
        assert_eq!(n01, 0, "{engine:?}: input 0.1 (r*i = 0.9 < 1) must not spike");
        assert!(n012 >= 2, "{engine:?}: input 0.12 (r*i = 1.08 > 1) must spike repeatedly ({n012} spikes)");
        // At 0.1 the neuron approaches r*i = 0.9 from below, then decays once the input stops.
        let v01: Vec<f64> = (0..200).map(|k| v[k * 2]).collect();
        assert!(v01[149] > 0.89 && v01[149] < 0.9, "v after 150 steps of 0.1 is {}", v01[149]);
        assert!((v01[199] - v01[149] * 0.95f64.powi(50)).abs() < 1e-12, "free decay by (1 - 1/tau) per step");
        // Spikes at 0.12 stop with the input (the last one may be the pending one of step 149).
        assert!(t.iter().zip(&idx).all(|(&t, &i)| i == 0 || t <= 150.0));
    }
}
