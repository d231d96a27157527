//! Where AIConfigurator's tables live under a `systems/` folder, and which files serve a
//! query: `data/<system>/<family>/<backend>/<version>/<table>.parquet`.
//!
//! A table missing from the requested version is served by the newest older version that
//! has it ("backward fill"), and older versions also fill in rows the requested one lacks
//! (first source wins per key), as AIConfigurator 0.12.0 loads them. Newer versions never
//! serve an older request. Last, other backends' files fill in rows of the kernels that
//! `perf_data_reuse_manifest.yaml` declares shared with the requested backend (every
//! version, newest first; communication tables excepted) — its "shared layer".

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::PerfError;
use crate::system::Backend;

/// The shared-layer manifest, at the root of the `systems/` folder.
const MANIFEST: &str = "perf_data_reuse_manifest.yaml";

/// A file serving a table, and the kernels (`kernel_source`) whose rows it may contribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Source {
    /// The Parquet file.
    pub(crate) path: PathBuf,
    /// `None`: every row; otherwise only rows of these kernels (another backend's file).
    kernels: Option<BTreeSet<String>>,
}

impl Source {
    /// A file whose every row serves.
    pub(crate) fn whole(path: PathBuf) -> Source {
        Source {
            path,
            kernels: None,
        }
    }

    /// Whether a row of kernel `kernel` (`None`: the file has no `kernel_source` column)
    /// serves.
    pub(crate) fn admits(&self, kernel: Option<&str>) -> bool {
        match (&self.kernels, kernel) {
            (None, _) => true,
            (Some(set), Some(k)) => set.contains(k),
            (Some(_), None) => false,
        }
    }
}

/// The first source's path, for error messages.
pub(crate) fn first_path(sources: &[Source]) -> String {
    sources
        .first()
        .map(|s| s.path.display().to_string())
        .unwrap_or_default()
}

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
    /// Per table file: the other backends whose rows may fill in, with their kernels.
    shared: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
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
        let shared = read_manifest(&root.join(MANIFEST), backend)?;
        Ok(Layout {
            system_dir,
            backend,
            version,
            shared,
        })
    }

    /// Every existing file of `table` in `family` that serves the requested version: its
    /// own first, then older versions, newest first, then other backends' shared kernels.
    pub(crate) fn sources(&self, family: &str, table: &str) -> Vec<Source> {
        let family_dir = self.system_dir.join(family);
        let mut found: Vec<Source> = self
            .versions_in(
                &family_dir.join(self.backend.as_str()),
                table,
                Some(&self.version),
            )
            .into_iter()
            .map(Source::whole)
            .collect();
        if family == "comm" {
            return found;
        }
        let file = format!("{table}.parquet");
        for (backend, kernels) in self.shared.get(&file).into_iter().flatten() {
            for path in self.versions_in(&family_dir.join(backend), table, None) {
                found.push(Source {
                    path,
                    kernels: Some(kernels.clone()),
                });
            }
        }
        found
    }

    /// The existing files of `table` under `dir`'s version folders no newer than `newest`
    /// (all of them for `None`), newest first.
    fn versions_in(&self, dir: &Path, table: &str, newest: Option<&str>) -> Vec<PathBuf> {
        let mut versions: Vec<String> = subdirs(dir)
            .into_iter()
            .filter(|v| newest.is_none_or(|n| compare_versions(v, n) != Ordering::Greater))
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
    pub(crate) fn require(&self, family: &str, table: &str) -> Result<Vec<Source>, PerfError> {
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

/// One entry of the manifest under construction.
#[derive(Default)]
struct Entry {
    file: String,
    kernel: Option<String>,
    tier: String,
    frameworks: Vec<String>,
}

/// Per table file, the other backends whose rows of the listed kernels may serve `backend`:
/// every `shared` or `shared_fallback` entry that lists `backend` among its frameworks lends
/// its kernel from each of the other frameworks listed. A missing manifest lends nothing.
/// The manifest is a list of flat entries (`- op_file: …`, `kernel_source: …`, `tier: …`,
/// `frameworks: [a, b]`); an entry that cannot be read is an error naming the line.
fn read_manifest(
    path: &Path,
    backend: Backend,
) -> Result<BTreeMap<String, BTreeMap<String, BTreeSet<String>>>, PerfError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(BTreeMap::new());
    };
    let mut entries: Vec<Entry> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        let (field, value) = match trimmed
            .strip_prefix("- ")
            .unwrap_or(trimmed)
            .split_once(':')
        {
            Some((f, v)) if !trimmed.starts_with('#') => (f.trim(), v.trim()),
            _ => continue,
        };
        let unquote = |v: &str| v.trim_matches(|c| c == '\'' || c == '"').to_owned();
        if trimmed.starts_with("- ") {
            if field != "op_file" {
                continue;
            }
            entries.push(Entry {
                file: unquote(value),
                ..Entry::default()
            });
            continue;
        }
        let Some(entry) = entries.last_mut() else {
            continue;
        };
        match field {
            "kernel_source" => entry.kernel = Some(unquote(value)),
            "tier" => entry.tier = unquote(value),
            "frameworks" => {
                let list = value
                    .strip_prefix('[')
                    .and_then(|v| v.strip_suffix(']'))
                    .ok_or_else(|| PerfError::Database {
                        path: path.display().to_string(),
                        message: format!("line {}: `frameworks` is not a [list]: `{value}`", n + 1),
                    })?;
                entry.frameworks = list
                    .split(',')
                    .map(|f| unquote(f.trim()).to_lowercase())
                    .filter(|f| !f.is_empty())
                    .collect();
            }
            _ => {}
        }
    }
    let mut shared: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for entry in entries {
        let lends = matches!(entry.tier.as_str(), "shared" | "shared_fallback")
            && entry.frameworks.iter().any(|f| f == backend.as_str());
        let Some(kernel) = entry.kernel.filter(|_| lends) else {
            continue;
        };
        for framework in entry.frameworks {
            if framework != backend.as_str() {
                shared
                    .entry(entry.file.clone())
                    .or_default()
                    .entry(framework)
                    .or_default()
                    .insert(kernel.clone());
            }
        }
    }
    Ok(shared)
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
            .map(|s| {
                s.path
                    .parent()
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

    #[test]
    fn the_manifest_lends_other_backends_shared_kernels() {
        let root =
            std::env::temp_dir().join(format!("servesim-aic-manifest-{}", std::process::id()));
        let mla = root.join("data/h200_sxm/mla");
        for dir in [
            "vllm/0.24.0",
            "trtllm/1.3.0rc20",
            "trtllm/1.3.0rc10",
            "sglang/0.5.14",
        ] {
            std::fs::create_dir_all(mla.join(dir)).unwrap();
            std::fs::write(mla.join(dir).join("mla_context_module_perf.parquet"), b"").unwrap();
        }
        std::fs::create_dir_all(root.join("data/h200_sxm/gemm/vllm/0.24.0")).unwrap();
        let manifest = root.join(MANIFEST);
        std::fs::write(
            &manifest,
            "groups:\n  - op_file: mla_context_module_perf.parquet\n    kernel_source: 'default'\n    tier: shared_fallback\n    frameworks: [trtllm, vllm]\n  - op_file: mla_context_module_perf.parquet\n    kernel_source: 'fa3'\n    tier: shared\n    frameworks: [sglang]\n",
        )
        .unwrap();
        let layout = Layout::new(&root, "h200_sxm", Backend::Vllm, None).unwrap();
        let sources = layout.sources("mla", "mla_context_module_perf");
        let found: Vec<(String, bool, bool)> = sources
            .iter()
            .map(|s| {
                let dir = s.path.parent().unwrap();
                (
                    dir.strip_prefix(&mla).unwrap().display().to_string(),
                    s.admits(Some("default")),
                    s.admits(Some("FLASHMLA")),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("vllm/0.24.0".to_owned(), true, true),
                ("trtllm/1.3.0rc20".to_owned(), true, false),
                ("trtllm/1.3.0rc10".to_owned(), true, false),
            ]
        );
        std::fs::write(
            &manifest,
            "groups:\n  - op_file: x.parquet\n    kernel_source: 'default'\n    frameworks: trtllm\n",
        )
        .unwrap();
        let err = Layout::new(&root, "h200_sxm", Backend::Vllm, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(
                "perf_data_reuse_manifest.yaml: line 4: `frameworks` is not a [list]: `trtllm`"
            ),
            "{err}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
