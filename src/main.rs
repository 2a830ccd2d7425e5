use std::process::ExitCode;

// Parsing allocates many small nodes; mimalloc makes that markedly cheaper than the system
// allocator (Ruff makes the same choice).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    nogil_lint::cli::main()
}
