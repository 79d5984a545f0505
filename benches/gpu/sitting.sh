#!/usr/bin/env bash
# One sitting on the GPU host, from the repository root, with a `--features cuda` build of
# the CLI at $BIN (default .dev/spikeworld) and the anchors' wheels in $GPU (default .gpu,
# from ../shared/bench/gpu/prepare_wheels.sh, plus ../shared/bench/bench_brian2.py).
# Usage: bash benches/gpu/sitting.sh PHASE...   (each phase prints lines tagged with it)
#   smi          the GPU and its clocks
#   equal        device engine (push) spike trains byte-equal to the cpu engine's
#   time         device engine loop times, no recording, pull and push, 2 runs each
#   profile      GPU time per kernel (SPIKEWORLD_CUDA_PROFILE=1) at 4000, 64000, 1,024,000
#   big          10^6 neurons with 10^8 synapses: fits, runs; the manifest's device bytes
#   ckpt         save on the GPU and resume (on the GPU and on the cpu engine), cpu -> GPU
#   ncu          Nsight Compute on one launch of each kernel of COBA 1,024,000 (push)
#   time2        device engine loop times, no recording, --delivery auto, 2 runs each
#   train        the training anchor (Linear+LIF, batch 16, T 500) on burn-cuda with the fused
#                layer's CubeCL kernels, n = 512, 4096, 16384, interleaved with SpikingJelly 2.0
#                (cupy and torch backends) on the same GPU, two rounds
#   cubetest     the training plugin's CubeCL kernels on CUDA against the CPU form (tests/cube.rs,
#                binary at .dev/cube: `cargo test --release -p spikeworld-train-surrogate --features cuda
#                --test cube --no-run --target-dir /work/target-cuda`, the path it prints, stripped),
#                then `train --device cuda` against the CPU (tests/train_device.rs, binary at
#                .dev/train_device, built the same way with `--test train_device`; it reads
#                scenarios/train_digits.toml under SPIKEWORLD_ROOT, set to the tree here)
#   traincli     `spikeworld train scenarios/train_digits.toml` with --device cuda beside --device flex
#   unroll       the update kernels with 1, 2 and 4 neurons per thread (SPIKEWORLD_CUDA_UNROLL)
#   inputs       Poisson encoders and state monitors on the device: every output file of
#                lif_poisson, enc_poisson_p and delayed_recurrent byte-equal to the cpu engine's
#   shards       the device engine in 2 shards (COBA 64000, push): files equal to the cpu engine's, time
#   cpu16        cpu engine threads and shards on this host's 16 cores, beside Brian2
#                C++ standalone (1 and 16 OpenMP threads), interleaved
# LIMIT (seconds, default 560): phases not started by then are skipped, saying so.
# DEVICE=flex runs the device engine on the host backend (to try a phase without a GPU).
# Builds (here): `bash benches/gpu/prepare.sh` builds and strips every binary into .dev/ (git-ignored)
# and the anchors' files into .gpu/; carry [".dev", ".gpu"]. The gzipped ones are unpacked below.
# The 2026-11-24 sitting: benches/gpu/results_2026-11-24_call*.txt.
set -uo pipefail
for z in .dev/*.gz; do [ -e "$z" ] && gunzip -kf "$z"; done
BIN=${BIN:-.dev/spikeworld}; GPU=${GPU:-.gpu}; W=${W:-/tmp/sit}; mkdir -p $W
LIMIT=${LIMIT:-560}; T0=$(date +%s)
scale() { local N=$1; local K=${2:-80}; local NE=$((N * 4 / 5)); local p; p=$(awk "BEGIN{print $K/$N}")
  echo "--set population.P.size=$N --set projection.exc.from=P[:$NE] --set projection.inh.from=P[$NE:] --set projection.exc.p=$p --set projection.inh.p=$p"; }
for m in coba cuba; do sed '/^\[\[monitor\]\]/,$d' scenarios/$m.toml > scenarios/.norec_$m.toml; done
trap 'rm -f scenarios/.norec_coba.toml scenarios/.norec_cuba.toml' EXIT
dev() { $BIN run "$@" --quiet --engine device --device ${DEVICE:-cuda} 2>&1; }
loop() { grep -E 'loop|rror|panic' | head -3; }
b2setup() { [ -d /tmp/site ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site $GPU/whl/*.whl 2>&1 | grep -v WARNING | tail -2; }
for phase in "$@"; do
  el=$(( $(date +%s) - T0 ))
  if [ $el -gt $LIMIT ]; then echo "SKIP $phase (at ${el}s)"; continue; fi
  echo "== $phase at ${el}s"
  case $phase in
  smi) nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,memory.total,memory.used --format=csv; nproc ;;
  equal)
    for mN in coba:4000 coba:64000 cuba:4000 cuba:64000; do m=${mN%:*}; N=${mN#*:}
      $BIN run scenarios/$m.toml --quiet --engine cpu --out $W/c $(scale $N) 2>&1 | loop
      dev scenarios/$m.toml --delivery push --out $W/d $(scale $N) | loop
      for f in spikes.t_ms.npy spikes.index.npy; do cmp -s $W/c/$f $W/d/$f && echo "EQUAL push $m $N $f device==cpu" || echo "EQUAL push $m $N $f device!=cpu"; done
    done; rm -rf $W/c $W/d ;;
  inputs)
    for f in lif_poisson enc_poisson_p delayed_recurrent; do
      $BIN run scenarios/$f.toml --quiet --engine cpu --out $W/c 2>&1 | loop
      dev scenarios/$f.toml --out $W/d | loop
      for x in $(cd $W/c && ls *.npy); do cmp -s $W/c/$x $W/d/$x && echo "INPUTS $f $x device==cpu" || echo "INPUTS $f $x device!=cpu"; done
    done; rm -rf $W/c $W/d ;;
  shards)
    S="$(scale 64000)"
    $BIN run scenarios/coba.toml --quiet --engine cpu --out $W/c $S 2>&1 | loop
    for k in 1 2; do dev scenarios/coba.toml --delivery push --shards $k --out $W/d$k $S | loop
      for x in spikes.t_ms.npy spikes.index.npy; do cmp -s $W/c/$x $W/d$k/$x && echo "SHARDS $k $x device==cpu" || echo "SHARDS $k $x device!=cpu"; done
    done; rm -rf $W/c $W/d1 $W/d2 ;;
  time)
    for mN in coba:4000 coba:64000 coba:256000 coba:1024000 cuba:4000 cuba:64000 cuba:256000 cuba:1024000; do m=${mN%:*}; N=${mN#*:}
      for r in 1 2; do for d in pull push; do
        [ $m = cuba ] && [ $d = pull ] && [ $r = 2 ] && continue
        echo "TIME $d $m $N $(dev scenarios/.norec_$m.toml --delivery $d --out $W/t $(scale $N) | loop)"
      done; done
    done ;;
  profile)
    for mN in coba:4000 coba:64000 coba:1024000; do m=${mN%:*}; N=${mN#*:}
      echo "PROF push $m $N"; SPIKEWORLD_CUDA_PROFILE=1 dev scenarios/.norec_$m.toml --delivery push --out $W/t $(scale $N) | grep -E 'loop|PROFILE|rror'
    done
    echo "PROF pull coba 1024000"; SPIKEWORLD_CUDA_PROFILE=1 dev scenarios/.norec_coba.toml --delivery pull --out $W/t --set simulation.t_stop=200ms $(scale 1024000) | grep -E 'loop|PROFILE|rror' ;;
  big)
    /usr/bin/time -f "BIG host peak %M KB" $BIN run scenarios/coba.toml --quiet --engine device --device cuda --delivery push --out $W/big --set simulation.t_stop=200ms $(scale 1000000 100) 2>&1 | grep -E 'loop|Hz|rror|BIG|panic'
    python3 -c "import json; m=json.load(open('$W/big/manifest.json')); print('BIG manifest', json.dumps({k: m[k] for k in m if k in ('device', 'projections', 'loop_time_s', 'build_time_s')}))" 2>&1 | head -5
    nvidia-smi --query-gpu=memory.total --format=csv,noheader; rm -rf $W/big ;;
  ckpt)
    S="$(scale 64000)"
    dev scenarios/coba.toml --delivery push --out $W/full $S | loop
    dev scenarios/coba.toml --delivery push --out $W/half --stop-at 500ms $S | loop
    ck=$(ls $W/half/checkpoints/*.swck | tail -1); echo "CKPT $ck"
    $BIN resume $ck --quiet --engine device --device cuda --delivery push --out $W/rdev 2>&1 | loop
    $BIN resume $ck --quiet --engine cpu --out $W/rcpu 2>&1 | loop
    $BIN run scenarios/coba.toml --quiet --engine cpu --out $W/chalf --stop-at 500ms $S 2>&1 | loop
    ck2=$(ls $W/chalf/checkpoints/*.swck | tail -1)
    $BIN resume $ck2 --quiet --engine device --device cuda --delivery pull --out $W/rc2d 2>&1 | loop
    for r in rdev rcpu rc2d; do for f in spikes.t_ms.npy spikes.index.npy; do
      cmp -s $W/full/$f $W/$r/$f && echo "CKPT $r $f == uninterrupted" || echo "CKPT $r $f != uninterrupted"; done; done
    rm -rf $W/full $W/half $W/rdev $W/rcpu $W/chalf $W/rc2d ;;
  cpu16)
    b2setup; export PYTHONPATH=/tmp/site
    b2() { python3 $GPU/bench_brian2.py --model $1 --N $2 --mode standalone --threads $3 --no-record > $W/b2.log 2>&1; echo "B2 t$3 $1 $2 $(grep -o '"sim_time_s": [0-9.]*\|"spikes_total": [0-9]*\|"rate_exc_hz": [0-9.]*' $W/b2.log | tr '\n' ' ' || tail -n 3 $W/b2.log)"; }
    sw() { local m=$1 N=$2; shift 2; echo "SW $* $m $N $($BIN run scenarios/.norec_$m.toml --quiet --out $W/t $(scale $N) "$@" 2>&1 | loop)"; }
    sw coba 256000 --threads 1
    b2 coba 256000 1
    for r in 1 2; do sw coba 256000 --threads 16; b2 coba 256000 16; done
    sw coba 256000 --threads 16 --threads-mode pool
    for K in 2 4 8; do sw coba 256000 --shards $K; done
    for r in 1 2; do sw cuba 256000 --threads 16; b2 cuba 256000 16; done
    sw cuba 256000 --threads 1
    for T in 1 2 16; do sw coba 64000 --threads $T; done ;;
  ncu)
    ncu --clock-control none --kernel-name regex:'update_p0|push|resolve|deliver_const' --launch-skip 40 --launch-count 5 \
      --section SpeedOfLight --section Occupancy --section LaunchStats --section MemoryWorkloadAnalysis \
      $BIN run scenarios/.norec_coba.toml --quiet --engine device --device cuda --delivery ${DELIVERY:-push} --out $W/t --set simulation.t_stop=2ms $(scale 1024000) > $W/ncu.txt 2>&1
    grep -E '^  [a-z_0-9]+\(|update_p0|push|resolve|deliver_const|Duration|DRAM Throughput|Memory Throughput|Registers Per Thread|Achieved Occupancy|Theoretical Occupancy|Compute \(SM\) Throughput|L2 Hit|Block Limit Registers|rror' $W/ncu.txt | head -90 ;;
  unroll)
    for N in 1024000 256000 64000; do for u in 1 2 4; do
      echo "UNROLL $u coba $N $(SPIKEWORLD_CUDA_UNROLL=$u dev scenarios/.norec_coba.toml --out $W/t $(scale $N) | loop)"
    done; done ;;
  time2)
    for mN in coba:4000 coba:64000 coba:256000 coba:1024000 cuba:4000 cuba:64000 cuba:256000 cuba:1024000; do m=${mN%:*}; N=${mN#*:}
      for r in 1 2; do echo "TIME ${DELIVERY:-auto} $m $N $(dev scenarios/.norec_$m.toml --delivery ${DELIVERY:-auto} --out $W/t $(scale $N) | loop)"; done
    done ;;
  cubetest) timeout 300 .dev/cube --ignored --nocapture 2>&1 | grep -E 'cases|test result|panicked|rror' | head -6
    [ -x .dev/train_device ] && SPIKEWORLD_ROOT=$PWD timeout 200 .dev/train_device --ignored --nocapture --test-threads 1 2>&1 | grep -E 'epoch|weights|test result|panicked|rror' | head -12 ;;
  traincli)
    for d in cuda flex; do $BIN train scenarios/train_digits.toml --device $d --out $W/t_$d 2>&1 | grep -E 'epochs in|rror|panic' | sed "s/^/$d: /"; done
    head -3 $W/t_cuda/curve.csv $W/t_flex/curve.csv; rm -rf $W/t_cuda $W/t_flex ;;
  train)
    for r in 1 2; do for n in 512 4096 16384; do
      timeout 150 .dev/anchor $n 5 500 cuda 2>&1 | grep -E 'RESULT|rror|panic' | head -3
      timeout 200 bash $GPU/run_anchors.sh train $n --no-snntorch 2>&1 | grep -E 'RESULT|FAIL|rror' | head -4
    done; done ;;
  esac
done
echo "== done at $(( $(date +%s) - T0 ))s"
