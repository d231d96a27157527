//! `custom_allreduce_perf`: the tensor-parallel all-reduce of one layer, by GPU count and
//! message size (elements = tokens × hidden). The CUDA-graph variants are read (rows whose
//! `kernel_source` or `backend` ends in `_eager` are skipped); between measured sizes the
//! latency is blended linearly, beyond them the boundary point's bandwidth is held.

use std::collections::HashMap;

use super::columns::Columns;
use super::interp::{Curve, NoAnchor};
use super::layout::{Source, first_path};
use crate::error::PerfError;

/// All-reduce latency curves by GPU count.
#[derive(Clone, Debug)]
pub(crate) struct AllReduceTable {
    by_gpus: HashMap<u32, Curve>,
}

impl AllReduceTable {
    /// Reads `sources` (preferred first); `gpus` must be measured.
    pub(crate) fn load(sources: &[Source], gpus: u32) -> Result<AllReduceTable, PerfError> {
        let mut points: HashMap<u32, Vec<(f64, f64)>> = HashMap::new();
        for source in sources {
            let t = Columns::read(
                &source.path,
                &["num_gpus", "message_size", "latency"],
                &["kernel_source", "backend"],
            )?;
            let (n, size, latency) = (
                t.keys("num_gpus")?,
                t.numbers("message_size")?,
                t.numbers("latency")?,
            );
            let (kernel, backend) = (t.text("kernel_source")?, t.text("backend")?);
            let eager = |col: &Option<Vec<&str>>, row: usize| {
                col.as_ref().is_some_and(|c| c[row].ends_with("_eager"))
            };
            for row in 0..t.rows() {
                if !source.admits(kernel.as_ref().map(|k| k[row]))
                    || eager(&kernel, row)
                    || eager(&backend, row)
                    || !latency[row].is_finite()
                    || !size[row].is_finite()
                {
                    continue;
                }
                points
                    .entry(n[row])
                    .or_default()
                    .push((size[row], latency[row]));
            }
        }
        if !points.contains_key(&gpus) {
            let mut have: Vec<u32> = points.keys().copied().collect();
            have.sort_unstable();
            let have: Vec<String> = have.iter().map(u32::to_string).collect();
            return Err(PerfError::Database {
                path: first_path(sources),
                message: format!(
                    "no rows with `num_gpus` = {gpus} (measured: {})",
                    have.join(", ")
                ),
            });
        }
        let by_gpus = points
            .into_iter()
            .map(|(n, p)| (n, Curve::new(p)))
            .collect();
        Ok(AllReduceTable { by_gpus })
    }

    /// Milliseconds of an all-reduce of `elements` values over `gpus` GPUs (0 for one GPU).
    pub(crate) fn latency(&self, elements: u64, gpus: u32) -> Result<f64, NoAnchor> {
        if gpus <= 1 || elements == 0 {
            return Ok(0.0);
        }
        self.by_gpus
            .get(&gpus)
            .ok_or(NoAnchor)?
            .eval(elements as f64, 1, &|x| x)
    }
}
