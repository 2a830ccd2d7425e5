use std::process::ExitCode;

// Parsing allocates many small nodes and frees each file's tree at once: mimalloc's fast paths
// make that measurably cheaper than jemalloc or the system allocator (see Cargo.toml).
#[cfg(all(not(target_os = "windows"), not(target_env = "musl")))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    nogil_lint::cli::main()
}
