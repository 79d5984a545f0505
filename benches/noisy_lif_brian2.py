"""Brian2 C++ standalone (1 thread) running scenarios/noisy_lif_equations.toml's network:
1000 LIF neurons driven by white noise (`xi`, Euler-Maruyama), recurrent inhibition.
Prints the loop seconds (device._last_run_time) and the rate. Used by
benches/compare_brian2_noise.sh."""
import sys, tempfile
from brian2 import (NeuronGroup, Synapses, SpikeMonitor, Network, defaultclock, prefs,
                    set_device, device, seed, ms, mV, second)

builddir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()
set_device("cpp_standalone", build_on_run=True, directory=builddir)
prefs.devices.cpp_standalone.openmp_threads = 0
seed(7)
defaultclock.dt = 0.1 * ms
mu, tau, sigma = -52 * mV, 10 * ms, 4 * mV
P = NeuronGroup(1000, "dv/dt = (mu - v)/tau + sigma*sqrt(2/tau)*xi : volt (unless refractory)",
                threshold="v > -50*mV", reset="v = -60*mV", refractory=2 * ms, method="euler")
P.v = "-60*mV + rand()*10*mV"
S = Synapses(P, P, on_pre="v += -0.1*mV", delay=1.5 * ms)
S.connect(p=0.1)
mon = SpikeMonitor(P)
Network(P, S, mon).run(1 * second)
print(f"loop_s {device._last_run_time:.4f} rate_hz {mon.num_spikes / 1000:.3f}")
