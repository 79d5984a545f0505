#!/usr/bin/env python
"""SpikingJelly's path of ../shared/bench/train_anchor.py (the surrogate-gradient training
anchor: Linear(N -> N, no bias) + LIFNode(tau=2, multi-step), batch 16, T = 100, input spikes
with p = 0.1, loss = output.sum()), with the same timing loop (forward = Linear + LIF + sum,
backward = loss.backward()), but 2 warm-ups then RUNS timed repetitions, on 2 torch threads.
Usage: train_anchor_sj.py [N] [RUNS]. Prints one RESULT line (medians, min, max, seconds)."""
import json, statistics, sys, time, warnings
warnings.filterwarnings("ignore")
import torch
torch.set_num_threads(2)
torch.manual_seed(0)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
B, T = 16, 100
x = (torch.rand(T, B, N) < 0.1).float()
import spikingjelly
from spikingjelly.activation_based import neuron
def sj(lin, x):
    node = neuron.LIFNode(tau=2.0, step_mode="m")
    y = lin(x.flatten(0, 1)).view(T, B, N)
    return node(y)
lin = torch.nn.Linear(N, N, bias=False)
fwd, bwd = [], []
for rep in range(2 + RUNS):
    t0 = time.perf_counter(); out = sj(lin, x); loss = out.sum(); t1 = time.perf_counter()
    loss.backward(); t2 = time.perf_counter()
    if rep >= 2:
        fwd.append(t1 - t0); bwd.append(t2 - t1)
ver = getattr(spikingjelly, "__version__", None)
if ver is None:
    from importlib.metadata import version
    ver = version("spikingjelly")
print("RESULT " + json.dumps(dict(
    lib="spikingjelly-torch", N=N, B=B, T=T,
    fwd_s=round(statistics.median(fwd), 4), bwd_s=round(statistics.median(bwd), 4),
    fwd_min=round(min(fwd), 4), fwd_max=round(max(fwd), 4),
    bwd_min=round(min(bwd), 4), bwd_max=round(max(bwd), 4),
    threads=torch.get_num_threads(), torch=torch.__version__, spikingjelly=ver)))
