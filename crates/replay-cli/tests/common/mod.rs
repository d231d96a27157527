//! Helpers shared by the CLI tests: run the real `servesim` binary, make scratch files.

#![allow(dead_code, unreachable_pub, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `servesim` with `args` from the workspace root.
pub fn servesim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_servesim"))
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("servesim binary runs")
}

/// The workspace root (where `fixtures/` lives).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh scratch directory for one test.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("servesim-test-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Writes `contents` to `name` inside the scratch dir of `test` and returns its path.
pub fn scratch_file(test: &str, name: &str, contents: &str) -> PathBuf {
    let path = scratch_dir(test).join(name);
    std::fs::write(&path, contents).expect("write scratch file");
    path
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}
