//! nogil-lint: finds the Python patterns that were "accidentally safe" under the GIL and race,
//! or stop scaling, on free-threaded CPython (PEP 703).

pub mod checkers;
pub mod cli;
pub mod config;
pub mod data;
pub mod diagnostic;
pub mod discovery;
pub mod environment;
pub mod fix;
pub mod isolation;
pub mod lines;
pub mod linter;
pub mod noqa;
pub mod output;
pub mod parity;
pub mod project;
pub mod registry;
pub mod requirements;
pub mod semantic;
