use std::process::ExitCode;

fn main() -> ExitCode {
    nogil_lint::cli::main()
}
