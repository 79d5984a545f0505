#!/usr/bin/env bash
# COBAHH (Brette et al. 2007, benchmark 3; Brian2's example COBAHH): loop times of
# spikeworld (cpu engine, 1 thread) and Brian2 C++ standalone (1 thread, no OpenMP), side
# by side, with the firing statistics of each. N neurons, 80 % excitatory, p = 80/N
# (p = 0.02 at N = 4000), 1 s at dt = 0.1 ms, every spike recorded.
# Usage: [RUNS=5] [SCENARIO=cobahh_equations] bash benches/compare_brian2_cobahh.sh [N...]
# (default N: 4000 32000; SCENARIO: cobahh, the built-in hh_cond_exp_traub, or
# cobahh_equations, the neuron as Brian2's equations)
# The two are run in turn (A B A B ...); each figure is the median over the runs, with the
# min-max of the loop times and of the pairwise ratio Brian2/spikeworld.
# Needs the peers: bash ../shared/bench/peers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS_DIR:-$HOME/.cache/spikeworld-peers}
NS=${*:-4000 32000}
RUNS=${RUNS:-1}
SCENARIO=${SCENARIO:-cobahh}
cargo build --release -q --workspace
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# A private copy: a concurrent build in the shared target directory cannot swap it mid-run.
cp target/release/spikeworld "$out/spikeworld"
SW=$out/spikeworld

# Brian2's COBAHH example, verbatim equations and parameters, as a C++ standalone run.
cat > "$out/cobahh_brian2.py" <<'PY'
import json, os, sys, tempfile, shutil
import numpy as np
from brian2 import *
N = int(sys.argv[1]); seed_ = int(sys.argv[2])
build = tempfile.mkdtemp(prefix="cobahh_b2_")
set_device("cpp_standalone", build_on_run=True, directory=build)
prefs.devices.cpp_standalone.openmp_threads = 0
seed(seed_)
defaultclock.dt = 0.1 * ms
area = 20000*umetre**2
Cm = (1*ufarad*cm**-2) * area
gl = (5e-5*siemens*cm**-2) * area
El = -60*mV; EK = -90*mV; ENa = 50*mV
g_na = (100*msiemens*cm**-2) * area
g_kd = (30*msiemens*cm**-2) * area
VT = -63*mV
taue = 5*ms; taui = 10*ms
Ee = 0*mV; Ei = -80*mV
we = 6*nS; wi = 67*nS
eqs = Equations('''
dv/dt = (gl*(El-v)+ge*(Ee-v)+gi*(Ei-v)-
         g_na*(m*m*m)*h*(v-ENa)-
         g_kd*(n*n*n*n)*(v-EK))/Cm : volt
dm/dt = alpha_m*(1-m)-beta_m*m : 1
dn/dt = alpha_n*(1-n)-beta_n*n : 1
dh/dt = alpha_h*(1-h)-beta_h*h : 1
dge/dt = -ge*(1./taue) : siemens
dgi/dt = -gi*(1./taui) : siemens
alpha_m = 0.32*(mV**-1)*4*mV/exprel((13*mV-v+VT)/(4*mV))/ms : Hz
beta_m = 0.28*(mV**-1)*5*mV/exprel((v-VT-40*mV)/(5*mV))/ms : Hz
alpha_h = 0.128*exp((17*mV-v+VT)/(18*mV))/ms : Hz
beta_h = 4./(1+exp((40*mV-v+VT)/(5*mV)))/ms : Hz
alpha_n = 0.032*(mV**-1)*5*mV/exprel((15*mV-v+VT)/(5*mV))/ms : Hz
beta_n = .5*exp((10*mV-v+VT)/(40*mV))/ms : Hz
''')
P = NeuronGroup(N, model=eqs, threshold='v>-20*mV', refractory=3*ms, method='exponential_euler')
NE = int(0.8 * N)
Ce = Synapses(P[:NE], P, on_pre='ge+=we')
Ci = Synapses(P[NE:], P, on_pre='gi+=wi')
Ce.connect(p=80.0 / N)
Ci.connect(p=80.0 / N)
P.v = 'El + (randn() * 5 - 5)*mV'
P.ge = '(randn() * 1.5 + 4) * 10.*nS'
P.gi = '(randn() * 12 + 20) * 10.*nS'
smon = SpikeMonitor(P)
run(1 * second)
i = np.asarray(smon.i[:]); t = np.asarray(smon.t[:] / ms)
order = np.lexsort((t, i)); i, t = i[order], t[order]
b = np.searchsorted(i, np.arange(N + 1)); cvs = []
for k in range(N):
    if b[k + 1] - b[k] >= 3:
        isi = np.diff(t[b[k]:b[k + 1]]); cvs.append(isi.std() / isi.mean())
print("RESULT", json.dumps(dict(loop_s=float(device._last_run_time), rate_hz=len(i) / N, cv=float(np.mean(cvs)))))
shutil.rmtree(build, ignore_errors=True)
PY

printf "%-6s %6s | %9s %9s %6s | %9s %9s %6s | %6s\n" model N sw_loop_s rate_hz cv b2_loop_s rate_hz cv ratio
for N in $NS; do
  NE=$((N * 4 / 5)); p=$(python3 -c "print(80/$N)")
  : > "$out/rows"
  for r in $(seq "$RUNS"); do
    $SW run "scenarios/$SCENARIO.toml" --quiet --out "$out/sw$N" --set simulation.t_stop=1s --set population.P.size=$N \
      --set "projection.exc.from=P[:$NE]" --set "projection.inh.from=P[$NE:]" \
      --set projection.exc.p=$p --set projection.inh.p=$p > /dev/null
    sw=$(python3 - "$out/sw$N" $N <<'PY'
import json, math, struct, sys
d, N = sys.argv[1], int(sys.argv[2])
def npy(p):
    b = open(p, 'rb').read(); h = struct.unpack('<H', b[8:10])[0]; x = b[10 + h:]
    return struct.unpack('<%d%s' % (len(x) // 8, 'd' if b'<f8' in b[10:10 + h] else 'q'), x)
m = json.load(open(d + '/manifest.json'))
t, i = npy(d + '/spikes.t_ms.npy'), npy(d + '/spikes.index.npy')
per = [[] for _ in range(N)]
for a, b in zip(t, i): per[b].append(a)
cvs = []
for ts in per:
    if len(ts) >= 3:
        isi = [b - a for a, b in zip(ts, ts[1:])]; mu = sum(isi) / len(isi)
        cvs.append(math.sqrt(sum((x - mu) ** 2 for x in isi) / len(isi)) / mu)
print(m['loop_time_s'], m['populations']['P']['rate_hz'], sum(cvs) / len(cvs))
PY
)
    b2=$("$PEERS/brian2/bin/python" "$out/cobahh_brian2.py" $N $((12345 + r)) | grep '^RESULT' | cut -c8- \
      | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['loop_s'], d['rate_hz'], d['cv'])")
    echo "$sw $b2" >> "$out/rows"
  done
  python3 - "$out/rows" $N "$SCENARIO" <<'PY'
import sys, statistics as st
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
med = [st.median(c) for c in zip(*rows)]
ratio = [r[3] / r[0] for r in rows]
print("%-6s %6s | %9.3f %9.2f %6.3f | %9.3f %9.2f %6.3f | %6.2f" % (sys.argv[3], sys.argv[2], *med, st.median(ratio)))
if len(rows) > 1:
    print("       %d runs interleaved; spikeworld loop %.3f-%.3f, Brian2 loop %.3f-%.3f, ratio %.2f-%.2f" % (
        len(rows), min(r[0] for r in rows), max(r[0] for r in rows), min(r[3] for r in rows), max(r[3] for r in rows), min(ratio), max(ratio)))
PY
done
