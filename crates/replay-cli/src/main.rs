//! `servesim`: simulate an LLM-serving cluster on a laptop (see the `servesim_cli` library).

use std::process::ExitCode;

fn main() -> ExitCode {
    servesim_cli::main()
}
