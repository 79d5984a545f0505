//! How a simulation is executed: engine, device, threads.

use std::sync::OnceLock;

use crate::Result;

/// Which executor runs the clock-driven populations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// Fused native loops (default).
    #[default]
    Cpu,
    /// burn tensors (flex CPU device, or CUDA with the `cuda` feature).
    Tensor,
    /// The whole step resident on one device: fused kernels on CUDA (`cuda` feature), or
    /// the same kernels as host loops on the flex device.
    Device,
}

/// The device the tensor engine uses.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum TensorDevice {
    /// burn-flex on the CPU.
    #[default]
    Flex,
    /// CUDA device `n` (needs the `cuda` feature).
    Cuda(usize),
}

impl TensorDevice {
    /// The device of shard `shard` of `shards` when the run asked for this one: shards take
    /// the CUDA devices in turn from `Cuda(i)` (shard `k` on `(i + k) % count`: one GPU per
    /// shard where there are enough, several shards on one where there are not). Flex, and
    /// one world, keep the device asked for.
    pub fn for_shard(&self, shard: usize, shards: usize) -> Result<TensorDevice> {
        match self {
            TensorDevice::Cuda(i) if shards > 1 => {
                #[cfg(feature = "cuda")]
                {
                    let count = cudarc::driver::CudaContext::device_count().map_err(|e| crate::Error::Runtime(format!("CUDA: counting the devices: {e:?}")))?.max(1) as usize;
                    if *i >= count {
                        return Err(crate::Error::Input(format!("CUDA device {i} asked for: this machine has {count}")));
                    }
                    Ok(TensorDevice::Cuda((i + shard) % count))
                }
                #[cfg(not(feature = "cuda"))]
                {
                    let _ = shard;
                    Err(crate::Error::Input("this build has no CUDA support: rebuild with `--features cuda`".into()))
                }
            }
            other => Ok(other.clone()),
        }
    }

    /// The burn device; an error if this build lacks CUDA.
    pub fn to_burn(&self) -> Result<burn::DispatchDevice> {
        match self {
            TensorDevice::Flex => Ok(burn::DispatchDevice::Flex(Default::default())),
            #[cfg(feature = "cuda")]
            TensorDevice::Cuda(i) => Ok(burn::DispatchDevice::Cuda(burn::backend::cuda::CudaDevice::new(*i))),
            #[cfg(not(feature = "cuda"))]
            TensorDevice::Cuda(_) => Err(crate::Error::Input("this build has no CUDA support: rebuild with `--features cuda`".into())),
        }
    }
}

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Executor.
    pub engine: EngineKind,
    /// Device of the tensor engine.
    pub device: TensorDevice,
    /// Worker threads of the cpu engine (results do not depend on it).
    pub threads: usize,
    /// How the device engine delivers spikes (results do not depend on it).
    pub delivery: Delivery,
    /// Shards: the network split into this many worlds, each holding a range of every
    /// population's neurons and their incoming synapses, on its own thread; they exchange
    /// spikes once per exchange window (results do not depend on it; see `docs/sharding.md`). 0: as the
    /// scenario says (`simulation.shards`, default 1).
    pub shards: usize,
    /// Steps between two spike exchanges of a sharded run. 0 (the default): the longest
    /// window the delays allow, the shortest synaptic delay plus one step; a smaller one
    /// gives the same results with more exchanges (for measurement).
    pub exchange_every: u64,
    /// One shard per process (MPI: `spikeworld-mpi`): this process builds and steps shard
    /// `rank` of `size` only, and exchanges spikes through the transport. `None`: every
    /// shard in this process.
    pub processes: Option<super::transport::Processes>,
    /// Let `threads` run as shards where that pays (the CLI's default; `--threads-mode
    /// pool` turns it off): with `threads` above 1, no shards asked for (here, or above 1
    /// in the scenario), no `exchange_every`, the cpu engine in one process, no more
    /// threads than cores, a network
    /// that can be sharded and a population of at least [`MIN_SHARD_NEURONS`] per thread,
    /// the network is built as `threads` shards of one thread each (NEST's threads: each
    /// owns its neurons and their incoming synapses). Results do not change; on the
    /// 2-core VM of `benches/shards_comparison.txt`, 2 shards beat 2 pool threads by
    /// 1.10–1.54× from 16,000 neurons. Off, `threads` split one world's update and
    /// delivery over a pool. A `Sim` of shards holds shard 0's part in its `world`
    /// (`Sim::state`, `Sim::tables` and checkpoints cover every shard). Costs of shards
    /// (`docs/sharding.md`): a plugin's rule that ignores the range draws every pair in every shard (shards are built side
    /// by side, one per core).
    pub threads_as_shards: bool,
}

/// Neurons per thread of the largest population from which [`RunOptions::threads_as_shards`]
/// runs threads as shards (where a pool would split a population too).
pub const MIN_SHARD_NEURONS: usize = 4096;

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { engine: EngineKind::Cpu, device: TensorDevice::Flex, threads: 1, delivery: Delivery::Auto, shards: 0, exchange_every: 0, processes: None, threads_as_shards: false }
    }
}

/// How the device engine delivers a projection's spikes. Every mode sums each target's
/// inputs in the cpu engine's order, so all give the same bits; they differ in speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Push for large projections (at least 2^22 synapses), pull for the others.
    #[default]
    Auto,
    /// Every target reads all its synapses each step (no atomics; cost ∝ synapses).
    Pull,
    /// Every spike writes its synapses' numbers into its targets' buckets of `capacity`
    /// slots; each touched target sorts its bucket and adds in synapse order (a target
    /// that receives more than `capacity` spikes in a step pulls instead). Cost ∝ spikes.
    Push {
        /// Slots per target (1 to 32).
        capacity: u32,
    },
}

/// The builds of the cpu engine's fused loop, lowest first: the same results from each,
/// bit for bit (each lane runs the `f64` operation; no FMA contraction).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Simd {
    /// Plain Rust, whatever the target's baseline vectorises to (SSE2 on x86_64).
    Portable,
    /// 256-bit vectors: two per block of eight `f64` lanes, 16 registers.
    Avx2,
    /// AVX-512 (F, VL, DQ): one 512-bit vector per block of eight lanes, in the 32
    /// registers AVX-512 gives, so the constants of a model stay in registers, and spike
    /// masks in mask registers. The default where the CPU has it.
    Avx512,
}

impl Simd {
    /// Every build this CPU can run, lowest first.
    pub fn available() -> Vec<Simd> {
        [Simd::Portable, Simd::Avx2, Simd::Avx512].into_iter().filter(|s| s.supported()).collect()
    }

    /// Whether this CPU can run the build (cheap: the features are detected once).
    pub fn supported(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            match self {
                Simd::Portable => true,
                Simd::Avx2 => has!("avx2"),
                Simd::Avx512 => has!("avx2") && has!("avx512f") && has!("avx512vl") && has!("avx512dq"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Simd::Portable
        }
    }

    /// The build the cpu engine runs: [`Simd::from_env`], the highest build where that is
    /// not valid (a build refuses an invalid value first); a build the CPU lacks falls to
    /// the highest it has. Decided once. AVX-512 where the CPU has it: COBA/CUBA whole runs
    /// 0.78-0.87 of AVX2's loop time on Zen 4 (`benches/brian2_comparison.txt`).
    pub fn chosen() -> Simd {
        static CHOSEN: OnceLock<Simd> = OnceLock::new();
        *CHOSEN.get_or_init(|| {
            let asked = Simd::from_env().unwrap_or(Simd::Avx512);
            Simd::available().into_iter().filter(|&s| s <= asked).max().unwrap_or(Simd::Portable)
        })
    }

    /// The build asked for by `SPIKEWORLD_SIMD` (`portable`, `avx2`, `avx512`), the highest
    /// (`avx512`, which falls to what the CPU has) when it is not set; any other value is
    /// an error naming the three.
    pub fn from_env() -> Result<Simd> {
        match std::env::var("SPIKEWORLD_SIMD").as_deref() {
            Ok("portable") => Ok(Simd::Portable),
            Ok("avx2") => Ok(Simd::Avx2),
            Ok("avx512") | Err(std::env::VarError::NotPresent) => Ok(Simd::Avx512),
            Ok(other) => Err(crate::Error::Input(format!("SPIKEWORLD_SIMD={other}: expected one of portable, avx2, avx512"))),
            Err(std::env::VarError::NotUnicode(v)) => Err(crate::Error::Input(format!("SPIKEWORLD_SIMD={}: expected one of portable, avx2, avx512", v.to_string_lossy()))),
        }
    }
}
