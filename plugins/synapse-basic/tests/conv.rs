//! `conv2d` against a convolution computed here (PyTorch's Conv2d arithmetic: cross-
//! correlation with stride and zero padding), through the same exact-integrator `lif`
//! as `synapses.rs`: after the step where the input arrives, `v` of each target is the
//! convolution of the input spikes with the kernel.

use std::path::Path;

use spikeworld::prelude::*;

fn builder() -> SimBuilder {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_lif::LifPlugin)
        .add_plugin(spikeworld_encoder_basic::EncoderPlugin)
        .add_plugin(spikeworld_synapse_basic::SynapsePlugin);
    b
}

const C_IN: usize = 2;
const H: usize = 5;
const C_OUT: usize = 3;
const K: usize = 3;

fn kernel() -> Vec<f64> {
    (0..C_OUT * C_IN * K * K).map(|e| ((e * 37 % 19) as f64 - 9.0) * 0.125).collect()
}

/// Inputs that spike at step 0 (flat C-order indices into [C_IN, H, H]).
fn active() -> Vec<usize> {
    (0..C_IN * H * H).filter(|i| i % 3 == 0 || i % 7 == 1).collect()
}

fn scenario(stride: usize, pad: usize, out: usize, weight: &str) -> String {
    let times: Vec<String> = active().iter().map(|_| "\"0 ms\"".to_string()).collect();
    let idx: Vec<String> = active().iter().map(|i| i.to_string()).collect();
    format!(
        r#"
[simulation]
dt = "1 ms"
t_stop = "3 ms"
[[population]]
name = "out"
shape = [{C_OUT}, {out}, {out}]
model = "lif"
params = {{ tau_m = "1e20 ms", e_l = "0 mV", v_reset = "0 mV", v_th = "1e9 mV", t_ref = "0 ms" }}
[[encoder]]
name = "img"
kind = "spike_generator"
shape = [{C_IN}, {H}, {H}]
times = [{}]
indices = [{}]
[[projection]]
from = "img"
to = "out"
rule = "conv2d"
kernel_size = {K}
stride = {stride}
padding = {pad}
receptor = "v"
weight = {weight}
"#,
        times.join(", "),
        idx.join(", ")
    )
}

fn reference(stride: usize, pad: usize, out: usize) -> Vec<f64> {
    let w = kernel();
    let mut x = vec![0.0; C_IN * H * H];
    for i in active() {
        x[i] = 1.0;
    }
    let mut y = vec![0.0; C_OUT * out * out];
    for co in 0..C_OUT {
        for oy in 0..out {
            for ox in 0..out {
                let mut acc = 0.0;
                for ci in 0..C_IN {
                    for ky in 0..K {
                        for kx in 0..K {
                            let (iy, ix) = ((oy * stride + ky) as isize - pad as isize, (ox * stride + kx) as isize - pad as isize);
                            if iy >= 0 && ix >= 0 && (iy as usize) < H && (ix as usize) < H {
                                acc += w[((co * C_IN + ci) * K + ky) * K + kx] * x[(ci * H + iy as usize) * H + ix as usize];
                            }
                        }
                    }
                }
                y[(co * out + oy) * out + ox] = acc;
            }
        }
    }
    y
}

fn inline_kernel() -> String {
    let w = kernel();
    let rows: Vec<String> = w.chunks(C_IN * K * K).map(|r| format!("[{}]", r.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "))).collect();
    format!("{{ matrix = [{}] }}", rows.join(", "))
}

fn run(text: &str, engine: EngineKind) -> Sim {
    let b = builder();
    let sc = Scenario::from_str(text, Path::new("conv.toml"), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = b.build(sc, &RunOptions { engine, ..RunOptions::default() }).unwrap();
    sim.run_steps(2);
    sim
}

#[test]
fn conv2d_is_pytorch_conv2d_with_the_kernel_stored_once() {
    for (stride, pad, out) in [(1, 0, 3), (2, 1, 3), (1, 1, 5)] {
        let want = reference(stride, pad, out);
        assert!(want.iter().filter(|v| **v != 0.0).count() > want.len() / 2, "the test should drive most targets");
        for engine in [EngineKind::Cpu, EngineKind::Tensor] {
            let mut sim = run(&scenario(stride, pad, out, &inline_kernel()), engine);
            let v = sim.state("out", "v").unwrap();
            for (t, (a, b)) in v.iter().zip(&want).enumerate() {
                // Sums in another order than the reference's: equal within rounding.
                assert!((a - b).abs() < 1e-12, "stride {stride} padding {pad} ({engine:?}): target {t}: {a} vs {b}");
            }
            let mut q = sim.world.query::<&SynapseTable>();
            let table = q.single(&sim.world).unwrap();
            assert_eq!(table.weight.len(), C_OUT * C_IN * K * K, "the kernel is stored once");
            assert_eq!(table.kernel_index.as_ref().map(Vec::len), Some(table.len()));
            assert!(table.len() > table.weight.len());
        }
    }
}

#[test]
fn conv2d_kernel_from_npy_and_drawn() {
    // From a .npy file of shape [c_out, c_in, k, k] (written here, float64, C order).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.npy");
    let w = kernel();
    let header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({C_OUT}, {C_IN}, {K}, {K}), }}");
    let mut h = header.into_bytes();
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((h.len() as u16).to_le_bytes());
    bytes.extend(h);
    let head = bytes.len();
    for v in &w {
        bytes.extend(v.to_le_bytes());
    }
    std::fs::write(&path, &bytes).unwrap();
    let text = scenario(1, 0, 3, &format!("{{ file = \"{}\" }}", path.display()));
    let a = run(&text, EngineKind::Cpu).state("out", "v").unwrap();
    let b = run(&scenario(1, 0, 3, &inline_kernel()), EngineKind::Cpu).state("out", "v").unwrap();
    assert_eq!(a, b);
    // A NaN in the file is refused where the file is named, by its index.
    let at = ((C_IN * K) + 2) * K + 1; // [1, 0, 2, 1]
    bytes[head + 8 * at..head + 8 * at + 8].copy_from_slice(&f64::NAN.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let e = Scenario::from_str(&text, Path::new("conv.toml"), builder().registry(), &LoadOptions::default()).err().expect("a NaN weight is refused").to_string();
    assert!(e.contains("conv.toml:") && e.contains("file") && e.contains("value [1, 0, 2, 1] is NaN"), "{e}");
    // Drawn: every kernel entry once from the projection's stream: deterministic, and
    // targets at the same position in other channels differ (other kernel slices).
    let d = scenario(1, 0, 3, "{ dist = \"normal\", mean = \"0 mV\", std = \"1 mV\" }");
    let x = run(&d, EngineKind::Cpu).state("out", "v").unwrap();
    assert_eq!(x, run(&d, EngineKind::Cpu).state("out", "v").unwrap());
    assert_ne!(x[0], x[9]);
}

#[test]
fn conv2d_geometry_errors_are_clear() {
    let b = builder();
    for (text, want) in [
        (scenario(1, 0, 4, "1.0"), "gives 3x3 positions, but the target is 4x4"),
        (scenario(1, 0, 3, "1.0").replace("shape = [3, 3, 3]\n", "size = 27\n"), "conv2d needs the whole of a target"),
        (scenario(1, 0, 3, "1.0").replace("shape = [2, 5, 5]", "shape = [2, 5, 5]\nsize = 49"), "holds 50 neurons but size = 49"),
        (scenario(1, 0, 3, "{ matrix = [[1.0]] }"), "rows; expected 3"),
        (scenario(1, 0, 3, "1.0").replace("weight = 1.0", "weight = 1.0\nsynapse = { model = \"delta\" }"), "shares its weights"),
    ] {
        let e = Scenario::from_str(&text, Path::new("conv.toml"), b.registry(), &LoadOptions::default()).err().unwrap_or_else(|| panic!("should be refused: {want}")).to_string();
        assert!(e.contains(want) && e.contains("conv.toml:"), "expected `{want}` in: {e}");
    }
}

/// `pool2d`: every target sums its k×k window of its own channel (computed here), with
/// the default stride (= k) and an explicit one; window and channel errors are clear.
#[test]
fn pool2d_sums_each_window_of_its_channel() {
    for (k, stride, out) in [(2usize, 0usize, 2usize), (3, 1, 3), (2, 3, 2)] {
        let s = if stride == 0 { k } else { stride };
        let text = scenario(1, 0, 3, "0.5")
            .replace(&format!("shape = [{C_OUT}, 3, 3]"), &format!("shape = [{C_IN}, {out}, {out}]"))
            .replace("rule = \"conv2d\"", "rule = \"pool2d\"")
            .replace(&format!("kernel_size = {K}"), &format!("kernel_size = {k}"))
            .replace("stride = 1\npadding = 0\n", &if stride == 0 { String::new() } else { format!("stride = {stride}\n") });
        let mut x = vec![0.0; C_IN * H * H];
        for i in active() {
            x[i] = 1.0;
        }
        let mut want = vec![0.0; C_IN * out * out];
        for c in 0..C_IN {
            for oy in 0..out {
                for ox in 0..out {
                    for ky in 0..k {
                        for kx in 0..k {
                            want[(c * out + oy) * out + ox] += 0.5 * x[(c * H + oy * s + ky) * H + ox * s + kx];
                        }
                    }
                }
            }
        }
        assert!(want.iter().filter(|v| **v > 0.0).count() > want.len() / 2, "the test should drive most targets");
        let v = run(&text, EngineKind::Cpu).state("out", "v").unwrap();
        assert_eq!(v.len(), want.len());
        for (t, (a, b)) in v.iter().zip(&want).enumerate() {
            assert!((a - b).abs() < 1e-12, "k {k} stride {s}: target {t}: {a} vs {b}");
        }
    }
    let b = builder();
    let base = scenario(1, 0, 3, "1.0").replace("rule = \"conv2d\"", "rule = \"pool2d\"").replace("stride = 1\npadding = 0\n", "").replace(&format!("kernel_size = {K}"), "kernel_size = 2");
    for (text, want) in [
        (base.clone(), "pool2d keeps the channels: the source has 2, the target 3"),
        (base.replace(&format!("shape = [{C_OUT}, 3, 3]"), &format!("shape = [{C_IN}, 3, 3]")), "a 2x2 window with stride 2 over 5x5 gives 2x2 positions, but the target is 3x3"),
    ] {
        // The windows are checked when the scenario is read (`validate`), at `rule`.
        let e = Scenario::from_str(&text, Path::new("conv.toml"), b.registry(), &LoadOptions::default()).err().unwrap_or_else(|| panic!("should be refused: {want}")).to_string();
        assert!(e.contains(want) && e.contains("conv.toml:") && e.contains(".rule`"), "expected `{want}` in: {e}");
    }
    // A bad parameter is located at its own key.
    let text = base.replace("kernel_size = 2", "kernel_size = 2\nstride = 1.5");
    let e = Scenario::from_str(&text, Path::new("conv.toml"), b.registry(), &LoadOptions::default()).err().expect("a fractional stride is refused").to_string();
    assert!(e.contains(".stride`") && e.contains("whole number"), "{e}");
}

/// A shared kernel on a pool of threads that splits delivery by target (a target
/// population of at least 2 x 4096 neurons, over 1024 synaptic events a step): the same
/// spikes as one thread. Delivery had read the rows' stretch of `weight`, which for a
/// shared kernel is the kernel, and panicked (2026-11-25).
#[test]
fn conv2d_on_a_pool_of_threads_gives_the_spikes_of_one() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/conv2d.toml")).unwrap();
    let text = text
        .replace("shape = [1, 12, 12]", "shape = [1, 100, 100]")
        .replace("rate = \"40 Hz\"", "rate = \"80 Hz\"")
        .replace("shape = [4, 10, 10]", "shape = [4, 98, 98]")
        .replace("shape = [2, 5, 5]", "shape = [2, 49, 49]")
        .replace("t_stop = \"100 ms\"", "t_stop = \"15 ms\"");
    assert!(text.contains("[4, 98, 98]") && text.contains("15 ms"), "the edits took");
    let b = builder();
    let run = |threads: usize| {
        let sc = Scenario::from_str(&text, Path::new("conv_pool.toml"), b.registry(), &LoadOptions::default()).unwrap();
        let mut sim = b.build(sc, &RunOptions { threads, ..Default::default() }).unwrap();
        let n = sim.scenario.steps;
        sim.run_steps(n);
        assert!(sim.fault().is_none());
        let m = sim.monitors.iter().find_map(|&e| sim.world.get::<spikeworld::monitor::SpikeRecorder>(e)).unwrap();
        (m.t_ms(), m.index())
    };
    let one = run(1);
    assert!(one.0.len() > 10_000, "an active network ({} spikes)", one.0.len());
    assert!(run(2) == one, "the pool's spikes differ");
}
