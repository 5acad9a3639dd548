//! The `gatepass` command line: see `gatepass --help` and CONTRACT §3.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
