//! NG204 installed-extension-enables-gil: what is installed in the interpreter the project
//! runs on. The interpreter is run once to learn its version, whether it is a free-threaded
//! build and where its site-packages are; each distribution's `*.dist-info` (`WHEEL` tags,
//! `RECORD`, `top_level.txt`) says which extension modules it installs and for which ABI.
//! With `--import-check`, the project's imported extension packages are also imported in a
//! subprocess (with a timeout) to see whether CPython re-enables the GIL for them.
//!
//! The rule's documentation is `rules/NG204.md` (`nogil-lint rule NG204` prints it).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use serde::Deserialize;

/// What the interpreter says about itself.
#[derive(Debug, Clone, Deserialize)]
pub struct Interpreter {
    pub version: String,
    pub gil_disabled: bool,
    pub site_packages: Vec<PathBuf>,
}

/// One installed distribution with extension modules.
#[derive(Debug, Clone)]
pub struct InstalledDistribution {
    pub name: String,
    pub version: String,
    /// Top-level import names.
    pub imports: Vec<String>,
    /// Extension module files (`.so`, `.pyd`) it installs.
    pub extensions: Vec<String>,
    /// The `Tag:` lines of its `WHEEL` file.
    pub wheel_tags: Vec<String>,
}

impl InstalledDistribution {
    /// Extension modules built for an ABI without the `t` flag, when the interpreter is a
    /// free-threaded one.
    pub fn gil_abi_extensions(&self) -> Vec<&str> {
        self.extensions
            .iter()
            .map(String::as_str)
            .filter(|file| {
                // `name.cpython-313-x86_64-linux-gnu.so` is the GIL ABI; `…-313t-…` free-threaded;
                // `name.abi3.so` is the stable ABI, which free-threaded builds cannot load (< 3.15).
                let lower = file.to_ascii_lowercase();
                lower.contains(".abi3.")
                    || lower
                        .split(".cpython-")
                        .nth(1)
                        .is_some_and(|rest| !rest.split('-').next().unwrap_or("").ends_with('t'))
                    || lower.split(".cp3").nth(1).is_some_and(|rest| {
                        rest.ends_with(".pyd")
                            && !rest.split('-').next().unwrap_or("").ends_with('t')
                    })
            })
            .collect()
    }
}

const PROBE: &str = r#"
import json, site, sys, sysconfig
paths = []
try:
    paths.extend(site.getsitepackages())
except Exception:
    pass
try:
    paths.append(site.getusersitepackages())
except Exception:
    pass
paths.extend(p for p in sys.path if p.endswith(("site-packages", "dist-packages")))
seen = []
for p in paths:
    if p not in seen:
        seen.append(p)
print(json.dumps({
    "version": sys.version.split()[0],
    "gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "site_packages": seen,
}))
"#;

/// Runs `command` with a timeout; returns whether it succeeded, its standard output and error.
pub fn run_with_timeout(
    command: Command,
    timeout: Duration,
) -> Result<(bool, String, String), String> {
    run_with_timeout_status(command, timeout)
        .map(|(status, stdout, stderr)| (status.success(), stdout, stderr))
}

/// As [`run_with_timeout`], with the exit status itself (a process killed by a signal, such as
/// a crashed interpreter, has no exit code).
pub fn run_with_timeout_status(
    mut command: Command,
    timeout: Duration,
) -> Result<(std::process::ExitStatus, String, String), String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| error.to_string())?;
    let start = Instant::now();
    loop {
        match child.try_wait().map_err(|error| error.to_string())? {
            Some(status) => {
                let mut stdout = String::new();
                let mut stderr = String::new();
                if let Some(mut out) = child.stdout.take() {
                    let _ = out.read_to_string(&mut stdout);
                }
                if let Some(mut err) = child.stderr.take() {
                    let _ = err.read_to_string(&mut stderr);
                }
                return Ok((status, stdout, stderr));
            }
            None if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {} s", timeout.as_secs()));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Asks the interpreter about itself.
pub fn probe(python: &Path) -> Result<Interpreter, String> {
    let mut command = Command::new(python);
    command.args(["-I", "-c", PROBE]);
    let (ok, stdout, stderr) = run_with_timeout(command, Duration::from_secs(30))
        .map_err(|error| format!("cannot run {}: {error}", python.display()))?;
    if !ok {
        return Err(format!(
            "{} failed: {}",
            python.display(),
            stderr.lines().last().unwrap_or("no error output")
        ));
    }
    serde_json::from_str(stdout.trim())
        .map_err(|error| format!("{} printed something unexpected: {error}", python.display()))
}

/// The distributions with extension modules installed in the site-packages directories.
pub fn installed(site_packages: &[PathBuf]) -> Vec<InstalledDistribution> {
    let mut found = Vec::new();
    for directory in site_packages {
        let Ok(entries) = std::fs::read_dir(directory) else {
            continue;
        };
        let mut dist_infos: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "dist-info"))
            .collect();
        dist_infos.sort();
        for dist_info in dist_infos {
            if let Some(distribution) = read_dist_info(&dist_info) {
                found.push(distribution);
            }
        }
    }
    found
}

fn read_dist_info(dist_info: &Path) -> Option<InstalledDistribution> {
    let metadata = std::fs::read_to_string(dist_info.join("METADATA")).unwrap_or_default();
    let field = |name: &str| {
        metadata
            .lines()
            .find_map(|line| line.strip_prefix(name).map(str::trim).map(str::to_string))
    };
    let stem = dist_info.file_stem()?.to_string_lossy().into_owned();
    let name =
        field("Name:").unwrap_or_else(|| stem.split('-').next().unwrap_or(&stem).to_string());
    let version = field("Version:").unwrap_or_default();
    let record = std::fs::read_to_string(dist_info.join("RECORD")).unwrap_or_default();
    let files: Vec<&str> = record
        .lines()
        .filter_map(|line| line.split(',').next())
        .collect();
    let extensions: Vec<String> = files
        .iter()
        .filter(|file| file.ends_with(".so") || file.ends_with(".pyd"))
        .map(|file| file.to_string())
        .collect();
    if extensions.is_empty() {
        return None;
    }
    let mut imports: Vec<String> = std::fs::read_to_string(dist_info.join("top_level.txt"))
        .map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if imports.is_empty() {
        for file in &files {
            let top = file.split('/').next().unwrap_or(file);
            if top.ends_with(".dist-info") || top.ends_with(".data") || top == ".." {
                continue;
            }
            let top = top.split('.').next().unwrap_or(top).to_string();
            if !top.is_empty() && !imports.contains(&top) {
                imports.push(top);
            }
        }
    }
    let wheel = std::fs::read_to_string(dist_info.join("WHEEL")).unwrap_or_default();
    let wheel_tags = wheel
        .lines()
        .filter_map(|line| line.strip_prefix("Tag:").map(str::trim).map(str::to_string))
        .collect();
    Some(InstalledDistribution {
        name,
        version,
        imports,
        extensions,
        wheel_tags,
    })
}

/// Imports each module in a fresh interpreter and reports the ones after which the GIL is
/// enabled (CPython warns when an extension re-enables it). Modules are imported one per
/// process, each with a timeout.
pub fn import_check(python: &Path, modules: &[String]) -> FxHashMap<String, String> {
    let mut enabled = FxHashMap::default();
    for module in modules {
        let script = format!(
            "import sys, warnings\nwarnings.simplefilter('always')\nimport {module}\nprint(getattr(sys, '_is_gil_enabled', lambda: True)())"
        );
        let mut command = Command::new(python);
        command.args(["-I", "-c", &script]);
        if let Ok((true, stdout, stderr)) = run_with_timeout(command, Duration::from_secs(30))
            && stdout.trim().ends_with("True")
        {
            let detail = stderr
                .lines()
                .find(|line| line.contains("GIL"))
                .map(str::trim)
                .unwrap_or("the GIL is enabled after importing it")
                .to_string();
            enabled.insert(module.clone(), detail);
        }
    }
    enabled
}

/// The interpreter to inspect: `--python`, else the project's `.venv`.
pub fn find_python(explicit: Option<&Path>, roots: &[PathBuf]) -> Option<PathBuf> {
    if let Some(python) = explicit {
        return Some(python.to_path_buf());
    }
    roots.iter().find_map(|root| {
        ["bin/python", "Scripts/python.exe"]
            .iter()
            .map(|relative| root.join(".venv").join(relative))
            .find(|candidate| candidate.exists())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distribution(extensions: &[&str]) -> InstalledDistribution {
        InstalledDistribution {
            name: "fast".into(),
            version: "1.0".into(),
            imports: vec!["fast".into()],
            extensions: extensions.iter().map(|e| e.to_string()).collect(),
            wheel_tags: Vec::new(),
        }
    }

    #[test]
    fn abi_of_extension_files() {
        assert_eq!(
            distribution(&["fast/_c.cpython-314-x86_64-linux-gnu.so"])
                .gil_abi_extensions()
                .len(),
            1
        );
        assert!(
            distribution(&["fast/_c.cpython-314t-x86_64-linux-gnu.so"])
                .gil_abi_extensions()
                .is_empty()
        );
        assert_eq!(
            distribution(&["fast/_c.abi3.so"])
                .gil_abi_extensions()
                .len(),
            1
        );
        assert_eq!(
            distribution(&["fast/_c.cp313-win_amd64.pyd"])
                .gil_abi_extensions()
                .len(),
            1
        );
        assert!(
            distribution(&["fast/_c.cp313t-win_amd64.pyd"])
                .gil_abi_extensions()
                .is_empty()
        );
    }
}
