"""Brian2 C++ standalone (1 thread) running scenarios/spatial.toml's network: COBA (Brette et
al. 2007, benchmark 1) with 3600 neurons at uniform random places on a 1.5 mm torus sheet,
connected with p = 0.5*exp(-d^2/(2*(125 um)^2)) of the wrapped distance d and delays
0.5 ms + d/(0.2 mm/ms). Brian2 evaluates the expression p on every pair, as spikeworld does.
Prints the build seconds (the binary's wall time less the loop: synapse creation and
initialisation), the loop seconds, the synapses, the rate and the mean delay. Used by
benches/compare_brian2_spatial.sh."""
import sys, tempfile
from brian2 import (NeuronGroup, Synapses, SpikeMonitor, Network, defaultclock, prefs,
                    set_device, device, seed, ms, mV, mm, umetre, second)

builddir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()
set_device("cpp_standalone", build_on_run=True, directory=builddir)
prefs.devices.cpp_standalone.openmp_threads = 0
seed(12345)
defaultclock.dt = 0.1 * ms
N, NE = 3600, 2880
taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
El, Ee, Ei, Vt, Vr = -60 * mV, 0 * mV, -80 * mV, -50 * mV, -60 * mV
eqs = """
dv/dt  = (ge*(Ee-v) + gi*(Ei-v) - (v-El))/taum : volt (unless refractory)
dge/dt = -ge/taue : 1
dgi/dt = -gi/taui : 1
x : metre (constant)
y : metre (constant)
"""
P = NeuronGroup(N, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="euler")
P.v = "El + (randn()*5 - 5)*mV"
P.ge = "randn()*1.5 + 4"
P.gi = "randn()*12 + 20"
P.x = "rand()*1.5*mm"
P.y = "rand()*1.5*mm"
dx = "(((x_pre - x_post + 750*umetre) % (1500*umetre)) - 750*umetre)"
dy = "(((y_pre - y_post + 750*umetre) % (1500*umetre)) - 750*umetre)"
p = f"0.5*exp(-({dx}**2 + {dy}**2)/(2*(125*umetre)**2))"
delay = f"0.5*ms + sqrt({dx}**2 + {dy}**2)/(0.2*mm/ms)"
Ce = Synapses(P[:NE], P, on_pre="ge += 0.6")
Ci = Synapses(P[NE:], P, on_pre="gi += 6.7")
Ce.connect(p=p)
Ci.connect(p=p)
Ce.delay = delay
Ci.delay = delay
mon = SpikeMonitor(P, record=False)
Network(P, Ce, Ci, mon).run(1 * second)
loop = float(device._last_run_time)
binary = float(device.timers["run_binary"])
syn = len(Ce) + len(Ci)
d_mean = (float(Ce.delay[:].sum() / ms) + float(Ci.delay[:].sum() / ms)) / syn
print(f"build_s {binary - loop:.4f} loop_s {loop:.4f} synapses {syn} rate_hz {mon.num_spikes / N:.3f} delay_ms {d_mean:.4f}")
