//! nogil-lint: finds the Python patterns that were "accidentally safe" under the GIL and race,
//! or stop scaling, on free-threaded CPython (PEP 703).

//!
//! The modules, top to bottom (each uses only those below it; `tests/architecture.rs` checks):
//! `cli` → `parity`, `server` → `pipeline` → `linter`, `project`, `requirements`, `output` → `settings`
//! → `config`, `report` → `facts` → `checkers`, `noqa` → `fix` → `diagnostic` → `semantic`,
//! `registry` → `data`, `lines`, `discovery`, `environment`, `isolation`.

pub mod checkers;
pub mod cli;
pub mod config;
pub mod data;
pub mod diagnostic;
pub mod discovery;
pub mod environment;
pub mod facts;
pub mod fix;
pub mod isolation;
pub mod lines;
pub mod linter;
pub mod noqa;
pub mod output;
pub mod parity;
pub mod pipeline;
pub mod project;
pub mod registry;
pub mod report;
pub mod requirements;
pub mod semantic;
pub mod server;
pub mod settings;
