//! Where AIConfigurator's tables live under a `systems/` folder, and which files serve a
//! query: `data/<system>/<family>/<backend>/<version>/<table>.parquet`.
//!
//! A table missing from the requested version is served by the newest older version that
//! has it ("backward fill"), and older versions also fill in rows the requested one lacks
//! (first source wins per key), as AIConfigurator 0.12.0 loads them. Newer versions never
//! serve an older request.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use crate::error::PerfError;
use crate::system::Backend;

/// AIConfigurator 0.12.0's default ("current") backend version on `system`
/// (`systems/query_versions.yaml`).
pub(crate) fn default_version(system: &str, backend: Backend) -> &'static str {
    match (system, backend) {
        ("a100_sxm", Backend::Vllm) => "0.14.0",
        ("a100_sxm", Backend::Sglang) => "0.5.10",
        ("a100_sxm", Backend::Trtllm) => "1.0.0",
        (_, Backend::Vllm) => "0.24.0",
        (_, Backend::Sglang) => "0.5.14",
        (_, Backend::Trtllm) => "1.3.0rc20",
    }
}

/// A PEP 440-style version as an ordered key: release numbers, then pre-releases
/// (`rc`, `a`, `b`, `dev`) before the release and `post` after it.
fn version_key(version: &str) -> (Vec<u64>, i8, u64) {
    let split = version
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(version.len());
    let (release, suffix) = version.split_at(split);
    let numbers = release
        .split('.')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let suffix = suffix.trim_start_matches(['.', '-', '_']);
    let tag_end = suffix
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(suffix.len());
    let number = suffix[tag_end..].parse().unwrap_or(0);
    let phase = match &suffix[..tag_end] {
        "" => 0,
        "post" => 1,
        "dev" => -2,
        _ => -1,
    };
    (numbers, phase, number)
}

/// Orders versions as [`version_key`] does, padding release numbers with zeros.
fn compare_versions(a: &str, b: &str) -> Ordering {
    let (ka, kb) = (version_key(a), version_key(b));
    let len = ka.0.len().max(kb.0.len());
    let pad = |v: &[u64]| {
        (0..len)
            .map(|i| v.get(i).copied().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    pad(&ka.0)
        .cmp(&pad(&kb.0))
        .then(ka.1.cmp(&kb.1))
        .then(ka.2.cmp(&kb.2))
}

/// The data of one system, backend and version.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// `<root>/data/<system>`.
    system_dir: PathBuf,
    /// The backend.
    pub(crate) backend: Backend,
    /// The requested version.
    pub(crate) version: String,
}

fn subdirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

impl Layout {
    /// The data of `system` and `backend` under the `systems/` folder `root`, at `version`
    /// (default: AIConfigurator's current version for that system). Errors name the folder
    /// and list what exists.
    pub(crate) fn new(
        root: &Path,
        system: &str,
        backend: Backend,
        version: Option<&str>,
    ) -> Result<Layout, PerfError> {
        let data = root.join("data");
        if !data.is_dir() {
            return Err(PerfError::Database {
                path: root.display().to_string(),
                message: "not an AIConfigurator `systems` folder (no `data` subfolder)".to_owned(),
            });
        }
        let system_dir = data.join(system);
        let families = subdirs(&system_dir);
        if families.is_empty() {
            let systems: Vec<String> = subdirs(&data)
                .into_iter()
                .filter(|s| !subdirs(&data.join(s)).is_empty())
                .collect();
            return Err(PerfError::Database {
                path: system_dir.display().to_string(),
                message: format!(
                    "no AIConfigurator data for system `{system}`; systems with data: {}",
                    systems.join(", ")
                ),
            });
        }
        let version = version
            .unwrap_or_else(|| default_version(system, backend))
            .to_owned();
        let gemm = system_dir.join("gemm").join(backend.as_str());
        let known = subdirs(&gemm);
        if !known.contains(&version)
            && !families.iter().any(|f| {
                system_dir
                    .join(f)
                    .join(backend.as_str())
                    .join(&version)
                    .is_dir()
            })
        {
            return Err(PerfError::Database {
                path: gemm.display().to_string(),
                message: format!(
                    "no {backend} version `{version}` for {system}; versions: {}",
                    known.join(", ")
                ),
            });
        }
        Ok(Layout {
            system_dir,
            backend,
            version,
        })
    }

    /// Every existing file of `table` in `family` that serves the requested version:
    /// its own first, then older versions, newest first.
    pub(crate) fn sources(&self, family: &str, table: &str) -> Vec<PathBuf> {
        self.sources_in(
            &self.system_dir.join(family).join(self.backend.as_str()),
            table,
            &self.version,
        )
    }

    fn sources_in(&self, dir: &Path, table: &str, version: &str) -> Vec<PathBuf> {
        let mut versions: Vec<String> = subdirs(dir)
            .into_iter()
            .filter(|v| compare_versions(v, version) != Ordering::Greater)
            .collect();
        versions.sort_by(|a, b| compare_versions(b, a));
        versions
            .into_iter()
            .map(|v| dir.join(v).join(format!("{table}.parquet")))
            .filter(|p| p.is_file())
            .collect()
    }

    /// Like [`sources`](Self::sources), but an error naming the expected file when there
    /// is none.
    pub(crate) fn require(&self, family: &str, table: &str) -> Result<Vec<PathBuf>, PerfError> {
        let found = self.sources(family, table);
        if found.is_empty() {
            let expected = self
                .system_dir
                .join(family)
                .join(self.backend.as_str())
                .join(&self.version)
                .join(format!("{table}.parquet"));
            return Err(PerfError::Database {
                path: expected.display().to_string(),
                message: "missing (and no older version has this table)".to_owned(),
            });
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_like_pep_440() {
        let mut v = vec![
            "1.3.0rc23",
            "1.0.0",
            "1.3.0",
            "1.3.0rc20",
            "0.5.6.post2",
            "0.5.14",
            "0.5.6",
            "1.2.0rc5",
        ];
        v.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            v,
            [
                "0.5.6",
                "0.5.6.post2",
                "0.5.14",
                "1.0.0",
                "1.2.0rc5",
                "1.3.0rc20",
                "1.3.0rc23",
                "1.3.0"
            ]
        );
        assert_eq!(compare_versions("0.24", "0.24.0"), Ordering::Equal);
    }

    #[test]
    fn older_versions_fill_in_and_newer_never_serve() {
        let root = std::env::temp_dir().join(format!("servesim-aic-layout-{}", std::process::id()));
        let comm = root.join("data/h200_sxm/comm/vllm");
        for v in ["0.14.0", "0.19.0", "0.24.0", "0.25.0"] {
            std::fs::create_dir_all(comm.join(v)).unwrap();
        }
        for v in ["0.14.0", "0.19.0", "0.25.0"] {
            std::fs::write(comm.join(v).join("custom_allreduce_perf.parquet"), b"").unwrap();
        }
        let layout = Layout::new(&root, "h200_sxm", Backend::Vllm, None).unwrap();
        assert_eq!(layout.version, "0.24.0");
        let found: Vec<String> = layout
            .sources("comm", "custom_allreduce_perf")
            .iter()
            .map(|p| {
                p.parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(found, ["0.19.0", "0.14.0"]);
        let err = layout.require("gemm", "gemm_perf").unwrap_err().to_string();
        assert!(err.ends_with("data/h200_sxm/gemm/vllm/0.24.0/gemm_perf.parquet: missing (and no older version has this table)"), "{err}");
        let err = Layout::new(&root, "b200_sxm", Backend::Vllm, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(
                "no AIConfigurator data for system `b200_sxm`; systems with data: h200_sxm"
            ),
            "{err}"
        );
        let err = Layout::new(&root, "h200_sxm", Backend::Vllm, Some("9.9"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no vllm version `9.9` for h200_sxm"), "{err}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
