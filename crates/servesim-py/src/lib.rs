//! The native core of the `servesim` Python package: `servesim run` and `servesim sweep` as
//! calls that take the command's flags and return JSON, with the GIL released while the
//! simulation runs. `python/servesim/__init__.py` turns keyword arguments into those flags
//! and the JSON into Python objects.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Replays as `servesim run ARGV…` and returns the report as JSON text; a bad flag or input
/// raises `ValueError` with the CLI's one-line message.
#[pyfunction]
fn run(py: Python<'_>, argv: Vec<String>) -> PyResult<String> {
    let report = py
        .allow_threads(|| servesim_cli::run_report(&argv))
        .map_err(PyValueError::new_err)?;
    Ok(report.to_string())
}

/// Runs `servesim sweep ARGV…` and returns its rows as a JSON array; with `write_files`,
/// the CSV/JSONL/HTML tables also go to `--out-dir`.
#[pyfunction]
fn sweep(py: Python<'_>, argv: Vec<String>, write_files: bool) -> PyResult<String> {
    let rows = py
        .allow_threads(|| servesim_cli::sweep_rows(&argv, write_files))
        .map_err(PyValueError::new_err)?;
    Ok(serde_json_array(&rows))
}

/// The `servesim` command line (the wheel's console script): `argv` as `sys.argv`; the exit
/// status.
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<String>) -> i32 {
    let code = py.allow_threads(|| servesim_cli::main_with(argv));
    if code == std::process::ExitCode::SUCCESS {
        0
    } else {
        1
    }
}

fn serde_json_array(rows: &[servesim_cli::Json]) -> String {
    servesim_cli::Json::Array(rows.to_vec()).to_string()
}

/// The extension module `servesim._servesim`.
#[pymodule]
fn _servesim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
