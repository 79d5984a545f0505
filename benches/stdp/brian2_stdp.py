"""Brian2 C++ standalone runs for the plasticity benchmark (benches/compare_brian2_stdp.sh).

--model coba_static | coba_stdp: COBA-4000 of ../../shared/bench/bench_brian2.py with the
  excitatory synapses split into E->E and E->I; coba_stdp adds Brian2's STDP example on E->E
  (event-driven traces, tau 20 ms, dApre = 0.001*we, dApost = -1.05*dApre, w in [0, 2*we]).
--model song: Brian2's examples/synapses/STDP.py (Song, Miller & Abbott 2000), 100 s.
Prints one line: RESULT {json} with the loop time (device._last_run_time) and statistics.
"""
import argparse, json, os, shutil, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--model", choices=["coba_static", "coba_stdp", "song"], required=True)
ap.add_argument("--N", type=int, default=4000)
ap.add_argument("--duration", type=float, default=None, help="biological seconds (default 1, song 100)")
ap.add_argument("--seed", type=int, default=12345)
args = ap.parse_args()

import numpy as np
import brian2
from brian2 import (NeuronGroup, PoissonGroup, Synapses, SpikeMonitor, Network, ms, mV, Hz,
                    second, defaultclock, prefs, set_device, device, seed)

builddir = os.path.join(tempfile.gettempdir(), "brian2-build", f"stdp_{args.model}_{os.getpid()}")
set_device("cpp_standalone", build_on_run=True, directory=builddir)
prefs.devices.cpp_standalone.openmp_threads = 0
seed(args.seed)
defaultclock.dt = 0.1 * ms
res = dict(simulator="brian2", version=brian2.__version__, model=args.model)

if args.model.startswith("coba"):
    duration = args.duration or 1.0
    N = args.N; NE = int(0.8 * N); p = 80.0 / N
    taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
    Vt, Vr, El, Ee, Ei = -50 * mV, -60 * mV, -60 * mV, 0 * mV, -80 * mV
    eqs = """
    dv/dt  = (ge*(Ee-v) + gi*(Ei-v) - (v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : 1
    dgi/dt = -gi/taui : 1
    """
    P = NeuronGroup(N, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="euler")
    P.v = "El + (randn()*5 - 5)*mV"
    P.ge = "randn()*1.5 + 4"
    P.gi = "randn()*12 + 20"
    we, wi = 0.6, 6.7
    taupre = taupost = 20 * ms
    dApre = 0.001 * we; dApost = -1.05 * dApre; wmax = 2 * we
    if args.model == "coba_stdp":
        Cee = Synapses(P[:NE], P[:NE], model="""w : 1
            dapre/dt = -apre/taupre : 1 (event-driven)
            dapost/dt = -apost/taupost : 1 (event-driven)""",
            on_pre="""ge += w
            apre += dApre
            w = clip(w + apost, 0, wmax)""",
            on_post="""apost += dApost
            w = clip(w + apre, 0, wmax)""")
    else:
        Cee = Synapses(P[:NE], P[:NE], model="w : 1", on_pre="ge += w")
    Cei = Synapses(P[:NE], P[NE:], on_pre="ge += we")
    Ci = Synapses(P[NE:], P, on_pre="gi += wi")
    for S in (Cee, Cei, Ci):
        S.connect(p=p)
    Cee.w = we
    smon = SpikeMonitor(P)
    net = Network(P, Cee, Cei, Ci, smon)
    net.run(duration * second)
    counts = np.asarray(smon.count[:])
    w = np.asarray(Cee.w[:])
    res.update(N=N, duration_s=duration, rate_hz=float(counts.sum() / N / duration),
               w_mean_over_we=float(w.mean() / we), synapses=int(len(Cee) + len(Cei) + len(Ci)))
else:
    duration = args.duration or 100.0
    N = 1000; taum = 10 * ms; taupre = taupost = 20 * ms
    Ee, vt, vr, El, taue = 0 * mV, -54 * mV, -60 * mV, -74 * mV, 5 * ms
    F = 15 * Hz; gmax = .01
    dApre = .01; dApost = -dApre * taupre / taupost * 1.05
    dApost *= gmax; dApre *= gmax
    eqs_neurons = """
    dv/dt = (ge * (Ee-vr) + El - v) / taum : volt
    dge/dt = -ge / taue : 1
    """
    inp = PoissonGroup(N, rates=F)
    neurons = NeuronGroup(1, eqs_neurons, threshold="v>vt", reset="v = vr", method="exact")
    neurons.v = vr
    S = Synapses(inp, neurons, """w : 1
        dApre/dt = -Apre / taupre : 1 (event-driven)
        dApost/dt = -Apost / taupost : 1 (event-driven)""",
        on_pre="""ge += w
        Apre += dApre
        w = clip(w + Apost, 0, gmax)""",
        on_post="""Apost += dApost
        w = clip(w + Apre, 0, gmax)""")
    S.connect()
    S.w = "rand() * gmax"
    smon = SpikeMonitor(neurons)
    net = Network(inp, neurons, S, smon)
    net.run(duration * second)
    w = np.asarray(S.w[:]) / gmax
    hist, _ = np.histogram(w, bins=20, range=(0, 1))
    res.update(duration_s=duration, rate_hz=float(smon.num_spikes / duration),
               outer20=float((hist[:4].sum() + hist[-4:].sum()) / hist.sum()), hist=hist.tolist())

res["sim_time_s"] = round(float(device._last_run_time), 4)
print("RESULT " + json.dumps(res))
sys.stdout.flush()
shutil.rmtree(builddir, ignore_errors=True)
