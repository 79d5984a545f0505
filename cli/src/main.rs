//! `spikeworld`: see `spikeworld --help`.

fn main() {
    std::process::exit(spikeworld_cli::main_with_args(std::env::args_os()));
}
