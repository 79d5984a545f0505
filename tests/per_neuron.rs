//! Per-neuron parameters (a list, a distribution or a `.npy` file for a parameter the model
//! reads per neuron) and per-neuron initial values: each neuron gets its own value, drawn
//! from its own stream, so shards, engines and resumed runs give the bits of one world.

mod common;
use common::shards::*;
use common::*;
use spikeworld::prelude::*;
use spikeworld::util::rng::{Stream, entity_key, purpose};

/// Izhikevich neurons with drawn `a` and `c` and a drawn initial `v`, driven by Poisson
/// input and coupled at random.
const HETERO: &str = r#"
[simulation]
dt = "0.5 ms"
t_stop = "300 ms"
seed = 21

[[population]]
name = "N"
size = 301
model = "izhikevich"
params = { a = { dist = "uniform", low = 0.02, high = 0.1 }, b = 0.2, c = { dist = "normal", mean = "-60 mV", std = "3 mV" }, d = 4.0 }
init = { v = { dist = "uniform", low = "-70 mV", high = "-60 mV" } }

[[encoder]]
name = "drive"
kind = "poisson"
size = 100
rate = "40 Hz"

[[projection]]
from = "drive"
to = "N"
rule = "fixed_indegree"
indegree = 20
receptor = "i_syn"
weight = "6 pA"

[[projection]]
from = "N"
to = "N"
rule = "pairwise_bernoulli"
p = 0.05
receptor = "i_syn"
weight = { dist = "uniform", low = "0 pA", high = "1 pA" }

[[population]]
name = "L"
size = 203
model = "lif"
params = { tau_m = { dist = "uniform", low = "5 ms", high = "30 ms" }, v_th = { dist = "normal", mean = "-55 mV", std = "1 mV" }, reset = "soft" }

[[projection]]
from = "drive"
to = "L"
rule = "fixed_indegree"
indegree = 30
receptor = "v"
weight = "1.2 mV"

[[monitor]]
name = "spikes"
kind = "spikes"
target = "N"

[[monitor]]
name = "spikes_l"
kind = "spikes"
target = "L"

[[monitor]]
name = "trace"
kind = "state"
target = "N"
variables = ["v", "u", "a", "c"]
indices = [0, 150, 300]
"#;

#[test]
fn drawn_parameters_are_each_neurons_own_draw() {
    let sim = sim_from_text(&builder(), HETERO, EngineKind::Cpu);
    let key = entity_key("population", "N");
    let (a, c, u) = (sim.state("N", "a").unwrap(), sim.state("N", "c").unwrap(), sim.state("N", "u").unwrap());
    for i in 0..301 {
        // Parameter k of the model (a: 0, c: 2) is drawn from stream (seed, population, PARAM + k, neuron).
        let want_a = 0.02 + (0.1 - 0.02) * Stream::new(21, key, purpose::PARAM, i as u64).uniform();
        let want_c = -60.0 + 3.0 * Stream::new(21, key, purpose::PARAM + 2, i as u64).normal();
        assert_eq!(a[i].to_bits(), want_a.to_bits(), "neuron {i}: a");
        assert_eq!(c[i].to_bits(), want_c.to_bits(), "neuron {i}: c");
        assert_eq!(u[i], 0.2 * -65.0, "neuron {i}: u starts at b v0 with the model's v0");
    }
    let spread = |x: &[f64]| x.iter().cloned().fold(f64::MIN, f64::max) - x.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread(&a) > 0.07 && spread(&c) > 10.0, "the values should spread over the distributions");
}

#[test]
fn per_neuron_parameters_in_shards_and_on_the_tensor_engine_equal_one_world() {
    let b = builder();
    let one = run_all(sim_from_text(&b, HETERO, EngineKind::Cpu));
    let want = outcome(&one);
    assert!(want.0.1.len() >= 1000, "{} spikes, too few to compare", want.0.1.len());
    let lif_spikes = one.spike_counts()[1];
    assert!(lif_spikes >= 500, "{lif_spikes} spikes of the lif population, too few to compare");
    for k in [2, 3] {
        let got = outcome(&run_all(sharded(load(HETERO), k)));
        assert!(got == want, "{k} shards differ from one world");
    }
    let tensor = outcome(&run_all(sim_from_text(&b, HETERO, EngineKind::Tensor)));
    assert!(tensor.0 == want.0 && tensor.2 == want.2, "the tensor engine differs from the cpu engine");
}

#[test]
fn per_neuron_parameters_resume_bit_for_bit() {
    let dir = std::env::temp_dir().join(format!("spikeworld-per-neuron-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hetero.toml");
    std::fs::write(&path, HETERO).unwrap();
    let r = spikeworld::testing::check_resume(&builder(), &path, 250, &dir, &RunOptions::default());
    let _ = std::fs::remove_dir_all(&dir);
    r.unwrap();
}

/// A little-endian f64 `.npy` file of one dimension.
fn write_npy(path: &std::path::Path, values: &[f64]) {
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}", values.len());
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(path, bytes).unwrap();
}

/// Lists and files, for parameters and for `init`, give exactly their values (a file's in
/// the key's canonical unit).
#[test]
fn lists_and_files_give_each_neuron_its_value() {
    let dir = std::env::temp_dir().join(format!("spikeworld-per-neuron-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write_npy(&dir.join("d.npy"), &[2.0, 4.0, 6.0, 8.0]);
    write_npy(&dir.join("v0.npy"), &[-70.0, -66.5, -60.25, -55.0]);
    let text = r#"
[simulation]
dt = "0.5 ms"
t_stop = "1 ms"

[[population]]
name = "P"
size = 4
model = "izhikevich"
params = { c = ["-65 mV", "-60 mV", "-55 mV", "-50 mV"], d = { file = "d.npy" } }
init = { v = { file = "v0.npy" }, u = [-13.0, -12.0, -11.0, -10.0] }

[[population]]
name = "L"
size = 3
model = "lif"
init = { v = ["-70 mV", "-60 mV", "-55 mV"] }
"#;
    let path = dir.join("lists.toml");
    std::fs::write(&path, text).unwrap();
    let b = builder();
    let sc = Scenario::load(&path, b.registry(), &LoadOptions::default());
    let _ = std::fs::remove_dir_all(&dir);
    let sim = b.build(sc.unwrap_or_else(|e| panic!("{e}")), &RunOptions::default()).unwrap();
    assert_eq!(sim.state("P", "c").unwrap(), vec![-65.0, -60.0, -55.0, -50.0]);
    assert_eq!(sim.state("P", "d").unwrap(), vec![2.0, 4.0, 6.0, 8.0]);
    assert_eq!(sim.state("P", "a").unwrap(), vec![0.02; 4], "the preset's a, for every neuron");
    assert_eq!(sim.state("P", "v").unwrap(), vec![-70.0, -66.5, -60.25, -55.0]);
    assert_eq!(sim.state("P", "u").unwrap(), vec![-13.0, -12.0, -11.0, -10.0]);
    assert_eq!(sim.state("L", "v").unwrap(), vec![-70.0, -60.0, -55.0]);
}

/// A value a neuron's model refuses is reported with the neuron and the key; a model
/// that reads a parameter once per population refuses a list for it.
#[test]
fn refused_values_name_the_neuron_and_the_key() {
    let b = builder();
    let text = |params: &str| format!("[simulation]\ndt = 1.0\nt_stop = 5.0\nseed = 3\n[[population]]\nname = \"P\"\nsize = 50\nmodel = \"izhikevich\"\nparams = {{ {params} }}\n");
    let load = |t: &str| Scenario::from_str(t, std::path::Path::new("t.toml"), b.registry(), &LoadOptions::default()).err().map(|e| e.to_string());
    let e = load(&text("a = { dist = \"normal\", mean = 0.02, std = 0.02 }")).expect("a normal a goes below 0 for some of 50 neurons");
    assert!(e.contains("params.a") && e.contains("neuron ") && e.contains("`a` must be > 0"), "{e}");
    let e = load(&text("c = { dist = \"uniform\", low = -65.0, high = 40.0 }")).expect("c above v_th");
    assert!(e.contains("params.c") && e.contains("must be below `v_th`"), "{e}");
    let e = load(&text("v_th = [30.0, 31.0]")).expect("v_th is per population");
    assert!(e.contains("params.v_th") && e.contains("a, b, c, d"), "{e}");
    let e = load(&text("c = [35.0, -60.0]")).expect("two values for 50 neurons");
    assert!(e.contains("has 2 values; expected 50"), "{e}");
    let list: Vec<String> = (0..50).map(|i| if i == 0 { "35.0".into() } else { "-60.0".into() }).collect();
    let e = load(&text(&format!("c = [{}]", list.join(", ")))).expect("neuron 0's c above v_th");
    assert!(e.contains("params.c") && e.contains("neuron 0: parameter `c`"), "{e}");
    let e = load(&text("d = { dist = \"normal\", mean = 1e308, std = 1e307 }")).expect("draws beyond f64");
    assert!(e.contains("params.d.std") && e.contains("beyond the largest number"), "{e}");
    let e = load(&text("c = {}")).expect("an empty table");
    assert!(e.contains("params.c") && e.contains("a list of one per neuron") && e.contains("file"), "{e}");
    assert!(load(&text("a = { dist = \"uniform\", low = 0.02, high = 0.1 }")).is_none());
}

/// A population too large for memory is refused by the memory estimate before any
/// neuron's drawn parameters are checked (a check of 10⁹ draws would take minutes): with
/// `c` drawn above `v_th` for some neuron after the first, 50 neurons fail that check, 4·10⁹
/// fail the estimate.
#[test]
fn a_huge_population_is_refused_before_its_neurons_are_checked() {
    let b = builder();
    let text = |size: u64| format!("[simulation]\ndt = 1.0\nt_stop = 5.0\nseed = 3\n[[population]]\nname = \"P\"\nsize = {size}\nmodel = \"izhikevich\"\nparams = {{ c = {{ dist = \"normal\", mean = 0.0, std = 40.0 }} }}\n");
    let opts = LoadOptions { max_memory: Some(1 << 30), ..Default::default() };
    let load = |t: &str| Scenario::from_str(t, std::path::Path::new("t.toml"), b.registry(), &opts).err().map(|e| e.to_string());
    let e = load(&text(50)).expect("some of 50 draws of c are above v_th");
    assert!(e.contains("must be below `v_th`") && e.contains("neuron ") && !e.contains("neuron 0:"), "{e}");
    let e = load(&text(4_000_000_000)).expect("4e9 neurons exceed 1 GiB");
    assert!(e.contains("memory") && !e.contains("v_th"), "{e}");
}

/// `lif` given per-neuron values runs its per-neuron form: each neuron equals a population
/// of one with its values as `lif`'s constants, bit for bit (spikes and final state), with
/// spike input, a current, refractoriness and both resets.
#[test]
fn lif_per_neuron_equals_one_population_per_neuron() {
    let n = 11;
    let list = |f: &dyn Fn(f64) -> f64| (0..n).map(|i| format!("{:?}", f(i as f64))).collect::<Vec<_>>();
    let keys: [(&str, Vec<String>); 7] = [
        ("tau_m", list(&|i| 5.0 + 4.0 * i)),
        ("c_m", list(&|i| 200.0 + 10.0 * i)),
        ("e_l", list(&|i| -70.0 + 0.5 * i)),
        ("v_th", list(&|i| -55.0 + 0.25 * i)),
        ("v_reset", list(&|i| -70.0 + i)),
        ("t_ref", list(&|i| 0.25 * i)),
        ("i_e", list(&|i| 520.0 + 10.0 * i)),
    ];
    let head = "[simulation]\ndt = 0.1\nt_stop = 300.0\nseed = 9\n[[encoder]]\nname = \"in\"\nkind = \"poisson\"\nsize = 20\nrate = \"40 Hz\"\n";
    for reset in ["hard", "soft"] {
        let params: Vec<String> = keys.iter().map(|(k, v)| format!("{k} = [{}]", v.join(", "))).collect();
        let mut whole = format!("{head}[[population]]\nname = \"H\"\nsize = {n}\nmodel = \"lif\"\nparams = {{ {}, reset = \"{reset}\" }}\n", params.join(", "));
        whole += "[[projection]]\nfrom = \"in\"\nto = \"H\"\nrule = \"all_to_all\"\nreceptor = \"v\"\nweight = 0.9\n[[monitor]]\nname = \"s\"\nkind = \"spikes\"\ntarget = \"H\"\n";
        let mut singles = head.to_string();
        for i in 0..n {
            let params: Vec<String> = keys.iter().map(|(k, v)| format!("{k} = {}", v[i])).collect();
            singles += &format!("[[population]]\nname = \"S{i}\"\nsize = 1\nmodel = \"lif\"\nparams = {{ {}, reset = \"{reset}\" }}\n", params.join(", "));
            singles += &format!("[[projection]]\nfrom = \"in\"\nto = \"S{i}\"\nrule = \"all_to_all\"\nreceptor = \"v\"\nweight = 0.9\n[[monitor]]\nname = \"s{i}\"\nkind = \"spikes\"\ntarget = \"S{i}\"\n");
        }
        let b = builder();
        let (h, s) = (run_all(sim_from_text(&b, &whole, EngineKind::Cpu)), run_all(sim_from_text(&b, &singles, EngineKind::Cpu)));
        let (t, idx) = spikes(&h);
        let trains: Vec<Vec<f64>> = (0..n).map(|i| t.iter().zip(&idx).filter(|(_, j)| **j == i as i64).map(|(t, _)| *t).collect()).collect();
        let (v, refr) = (h.state("H", "v").unwrap(), h.state("H", "refr").unwrap());
        for i in 0..n {
            let m = s.world.get::<spikeworld::monitor::SpikeRecorder>(s.monitors[i]).expect("spike monitor");
            assert!(!trains[i].is_empty(), "{reset}: neuron {i} should spike (the test would prove little)");
            assert_eq!(trains[i], m.t_ms(), "{reset}: neuron {i}: spike times");
            assert_eq!(v[i].to_bits(), s.state(&format!("S{i}"), "v").unwrap()[0].to_bits(), "{reset}: neuron {i}: v");
            assert_eq!(refr[i], s.state(&format!("S{i}"), "refr").unwrap()[0], "{reset}: neuron {i}: refr");
        }
        let tensor = run_all(sim_from_text(&b, &whole, EngineKind::Tensor));
        for var in ["v", "refr", "decay_m", "gain_m", "refr_steps"] {
            let (a, c) = (tensor.state("H", var).unwrap(), h.state("H", var).unwrap());
            assert!(a.iter().zip(&c).all(|(a, b)| a.to_bits() == b.to_bits()), "{reset}: tensor engine, `{var}`");
        }
        assert!(trains.windows(2).all(|w| w[0] != w[1]), "{reset}: the neurons should fire differently");
    }
}

/// A per-neuron form given one value for every neuron gives the bits of the model with
/// that value as a constant (the fused loop's full blocks and its short last block).
#[test]
fn per_neuron_forms_with_equal_values_give_the_plain_models_bits() {
    let cases = [
        ("lif", "tau_m = 15.0, v_th = -54.0, i_e = 100.0, reset = \"soft\"", "tau_m = {l}, v_th = -54.0, i_e = 100.0, reset = \"soft\"", "15.0", "v", 1.0),
        ("izhikevich", "c = -55.0, d = 4.0, integration = \"izhikevich_2003\"", "c = {l}, d = 4.0, integration = \"izhikevich_2003\"", "-55.0", "v", 5.0),
    ];
    let n = 21;
    for (model, plain, each, value, receptor, w) in cases {
        let text = |params: &str| {
            format!(
                "[simulation]\ndt = 0.1\nt_stop = 300.0\nseed = 4\n[[population]]\nname = \"P\"\nsize = {n}\nmodel = \"{model}\"\nparams = {{ {params} }}\n\
                 [[encoder]]\nname = \"in\"\nkind = \"poisson\"\nsize = 50\nrate = \"60 Hz\"\n\
                 [[projection]]\nfrom = \"in\"\nto = \"P\"\nrule = \"fixed_indegree\"\nindegree = 25\nreceptor = \"{receptor}\"\nweight = {w:?}\n\
                 [[monitor]]\nname = \"s\"\nkind = \"spikes\"\ntarget = \"P\"\n"
            )
        };
        let list = vec![value; n].join(", ");
        let b = builder();
        let a = run_all(sim_from_text(&b, &text(plain), EngineKind::Cpu));
        let e = run_all(sim_from_text(&b, &text(&each.replace("{l}", &format!("[{list}]"))), EngineKind::Cpu));
        assert!(e.state("P", "v").unwrap().len() == n && e.scenario.populations[0].model.vars().len() > a.scenario.populations[0].model.vars().len(), "{model}: the per-neuron form should run");
        let (sa, se) = (spikes(&a), spikes(&e));
        assert!(sa.0.len() >= 50, "{model}: {} spikes, too few to compare", sa.0.len());
        assert!(sa == se, "{model}: spikes differ between the plain model and its per-neuron form");
        for v in a.scenario.populations[0].model.vars() {
            let (x, y) = (a.state("P", v.name).unwrap(), e.state("P", v.name).unwrap());
            assert!(x.iter().zip(&y).all(|(x, y)| x.to_bits() == y.to_bits()), "{model}: `{}` differs", v.name);
        }
    }
}
