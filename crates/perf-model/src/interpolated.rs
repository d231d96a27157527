//! Timing from a measured profile table, interpolated.
//!
//! A profile has two parts, as the reference's NPZ profiles do:
//!
//! * prefill: time (ms) of a pass computing `tokens` new prompt tokens;
//! * decode: time (ms) of one step on a grid of `active_kv_tokens` × `context_length` (mean
//!   tokens per sequence; batch size is implicit: ≈ active KV / context).
//!
//! Prefill is interpolated linearly and decode bilinearly; outside the table both
//! **extrapolate linearly** from the nearest edge segment, as the reference does, and results
//! are clamped at 0 (prefill) and floored at 1 ms (decode).
//!
//! JSON:
//!
//! ```json
//! {"prefill": {"tokens": [128, 1024, 8192], "ms": [12.0, 30.0, 180.0]},
//!  "decode": {"active_kv_tokens": [0, 100000], "context_length": [128, 4096],
//!             "ms": [[6.0, 7.0], [20.0, 24.0]]}}
//! ```
//!
//! `decode.ms[i][j]` is the time at `active_kv_tokens[i]`, `context_length[j]`.
//!
//! CSV (long form, one measurement per row; decode rows must cover the full grid):
//!
//! ```text
//! phase,tokens,active_kv_tokens,context_length,ms
//! prefill,128,,,12.0
//! decode,,0,128,6.0
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::PerfError;
use crate::model::PerfModel;
use crate::pass::{DecodeShape, PrefillChunk};
use crate::polynomial::{DECODE_FLOOR_MS, reference_prefill_tokens};

/// A profile table as written in JSON.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileTable {
    /// Prefill measurements.
    pub prefill: PrefillTable,
    /// Decode measurements.
    pub decode: DecodeTable,
}

/// Prefill time by new tokens per pass.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefillTable {
    /// New tokens per pass, strictly increasing.
    pub tokens: Vec<f64>,
    /// Pass time in ms for each entry of `tokens`.
    pub ms: Vec<f64>,
}

/// Decode step time on an (active KV tokens × context length) grid.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodeTable {
    /// Active KV tokens axis, strictly increasing.
    pub active_kv_tokens: Vec<f64>,
    /// Mean context length axis, strictly increasing.
    pub context_length: Vec<f64>,
    /// `ms[i][j]`: step time at `active_kv_tokens[i]`, `context_length[j]`.
    pub ms: Vec<Vec<f64>>,
}

/// A [`PerfModel`] interpolating a measured [`ProfileTable`].
#[derive(Clone, Debug, PartialEq)]
pub struct InterpolatedModel {
    table: ProfileTable,
}

fn invalid(path: &str, message: impl Into<String>) -> PerfError {
    PerfError::Profile {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn check_axis(path: &str, name: &str, axis: &[f64]) -> Result<(), PerfError> {
    if axis.is_empty() {
        return Err(invalid(
            path,
            format!("`{name}` must hold at least one value"),
        ));
    }
    if axis.iter().any(|v| !v.is_finite()) {
        return Err(invalid(path, format!("`{name}` holds a non-finite value")));
    }
    if let Some(w) = axis.windows(2).find(|w| w[1] <= w[0]) {
        return Err(invalid(
            path,
            format!(
                "`{name}` must be strictly increasing ({} then {})",
                w[0], w[1]
            ),
        ));
    }
    Ok(())
}

fn check_values(path: &str, name: &str, values: &[f64]) -> Result<(), PerfError> {
    if values.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(invalid(
            path,
            format!("`{name}` must hold finite times ≥ 0 ms"),
        ));
    }
    Ok(())
}

impl InterpolatedModel {
    /// Validates a table: axes non-empty and strictly increasing, shapes consistent, times
    /// finite and ≥ 0. `source` names the table in error messages.
    pub fn new(table: ProfileTable, source: &str) -> Result<Self, PerfError> {
        let p = &table.prefill;
        check_axis(source, "prefill.tokens", &p.tokens)?;
        if p.ms.len() != p.tokens.len() {
            return Err(invalid(
                source,
                format!(
                    "`prefill.ms` has {} values for {} tokens",
                    p.ms.len(),
                    p.tokens.len()
                ),
            ));
        }
        check_values(source, "prefill.ms", &p.ms)?;
        let d = &table.decode;
        check_axis(source, "decode.active_kv_tokens", &d.active_kv_tokens)?;
        check_axis(source, "decode.context_length", &d.context_length)?;
        if d.ms.len() != d.active_kv_tokens.len()
            || d.ms.iter().any(|row| row.len() != d.context_length.len())
        {
            return Err(invalid(
                source,
                format!(
                    "`decode.ms` must be {} rows (active_kv_tokens) of {} values (context_length)",
                    d.active_kv_tokens.len(),
                    d.context_length.len()
                ),
            ));
        }
        for row in &d.ms {
            check_values(source, "decode.ms", row)?;
        }
        Ok(InterpolatedModel { table })
    }

    /// Parses a JSON profile.
    pub fn from_json(text: &str, source: &str) -> Result<Self, PerfError> {
        let table: ProfileTable =
            serde_json::from_str(text).map_err(|e| invalid(source, e.to_string()))?;
        Self::new(table, source)
    }

    /// Parses a long-form CSV profile (`phase,tokens,active_kv_tokens,context_length,ms`).
    pub fn from_csv(text: &str, source: &str) -> Result<Self, PerfError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines
            .next()
            .ok_or_else(|| invalid(source, "empty CSV profile"))?;
        let columns: Vec<&str> = header.split(',').map(str::trim).collect();
        let col = |name: &str| {
            columns
                .iter()
                .position(|c| *c == name)
                .ok_or_else(|| invalid(source, format!("line 1: missing column `{name}`")))
        };
        let (c_phase, c_tokens, c_kv, c_ctx, c_ms) = (
            col("phase")?,
            col("tokens")?,
            col("active_kv_tokens")?,
            col("context_length")?,
            col("ms")?,
        );
        let mut prefill: BTreeMap<u64, f64> = BTreeMap::new();
        let mut decode: BTreeMap<(u64, u64), f64> = BTreeMap::new();
        for (index, line) in lines {
            let line_no = index + 1;
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let number = |c: usize, name: &str| -> Result<f64, PerfError> {
                fields
                    .get(c)
                    .and_then(|f| f.parse::<f64>().ok())
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| {
                        invalid(
                            source,
                            format!("line {line_no}: field `{name}` must be a number ≥ 0"),
                        )
                    })
            };
            match fields.get(c_phase).copied() {
                Some("prefill") => {
                    prefill.insert(number(c_tokens, "tokens")?.to_bits(), number(c_ms, "ms")?);
                }
                Some("decode") => {
                    let key = (
                        number(c_kv, "active_kv_tokens")?.to_bits(),
                        number(c_ctx, "context_length")?.to_bits(),
                    );
                    decode.insert(key, number(c_ms, "ms")?);
                }
                other => {
                    return Err(invalid(
                        source,
                        format!(
                            "line {line_no}: field `phase` must be prefill or decode, got {other:?}"
                        ),
                    ));
                }
            }
        }
        // Bits of non-negative finite floats sort like the floats themselves.
        let tokens: Vec<f64> = prefill.keys().map(|b| f64::from_bits(*b)).collect();
        let ms: Vec<f64> = prefill.values().copied().collect();
        let kv_axis: Vec<f64> = unique_sorted(decode.keys().map(|k| k.0));
        let ctx_axis: Vec<f64> = unique_sorted(decode.keys().map(|k| k.1));
        let mut grid = Vec::with_capacity(kv_axis.len());
        for kv in &kv_axis {
            let mut row = Vec::with_capacity(ctx_axis.len());
            for ctx in &ctx_axis {
                let value = decode.get(&(kv.to_bits(), ctx.to_bits())).ok_or_else(|| {
                    invalid(
                        source,
                        format!(
                            "decode grid has no row for active_kv_tokens={kv}, context_length={ctx}"
                        ),
                    )
                })?;
                row.push(*value);
            }
            grid.push(row);
        }
        let table = ProfileTable {
            prefill: PrefillTable { tokens, ms },
            decode: DecodeTable {
                active_kv_tokens: kv_axis,
                context_length: ctx_axis,
                ms: grid,
            },
        };
        Self::new(table, source)
    }

    /// Loads a profile file: `.csv` as CSV, anything else as JSON.
    pub fn load(path: &Path) -> Result<Self, PerfError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PerfError::Io {
            path: name.clone(),
            source,
        })?;
        let is_csv = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if is_csv {
            Self::from_csv(&text, &name)
        } else {
            Self::from_json(&text, &name)
        }
    }

    /// The validated table.
    pub fn table(&self) -> &ProfileTable {
        &self.table
    }
}

fn unique_sorted(bits: impl Iterator<Item = u64>) -> Vec<f64> {
    let set: std::collections::BTreeSet<u64> = bits.collect();
    set.into_iter().map(f64::from_bits).collect()
}

/// Index `i` of the segment `[xs[i], xs[i+1]]` used for `x` (edge segments extrapolate) and
/// the weight of `xs[i+1]`.
fn segment(xs: &[f64], x: f64) -> (usize, f64) {
    if xs.len() < 2 {
        return (0, 0.0);
    }
    let upper = xs.partition_point(|&v| v <= x).clamp(1, xs.len() - 1);
    let i = upper - 1;
    (i, (x - xs[i]) / (xs[i + 1] - xs[i]))
}

fn lerp(a: f64, b: f64, t: f64) -> f64 {
    a + (b - a) * t
}

/// Linear interpolation with linear extrapolation.
fn interp1(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let (i, t) = segment(xs, x);
    if xs.len() < 2 {
        ys[0]
    } else {
        lerp(ys[i], ys[i + 1], t)
    }
}

impl PerfModel for InterpolatedModel {
    fn prefill_ms(&self, chunks: &[PrefillChunk]) -> f64 {
        if chunks.is_empty() {
            return 0.0;
        }
        let x = reference_prefill_tokens(chunks) as f64;
        interp1(&self.table.prefill.tokens, &self.table.prefill.ms, x).max(0.0)
    }

    fn decode_ms(&self, decode: &DecodeShape) -> f64 {
        if decode.sequences == 0 {
            return 0.0;
        }
        let d = &self.table.decode;
        let kv = decode.kv_tokens_in_use as f64;
        let ctx = decode.mean_context();
        let (j, u) = segment(&d.context_length, ctx);
        let row_at = |i: usize| {
            let row = &d.ms[i];
            if row.len() < 2 {
                row[0]
            } else {
                lerp(row[j], row[j + 1], u)
            }
        };
        let value = if d.active_kv_tokens.len() < 2 {
            row_at(0)
        } else {
            let (i, t) = segment(&d.active_kv_tokens, kv);
            lerp(row_at(i), row_at(i + 1), t)
        };
        value.max(DECODE_FLOOR_MS)
    }

    fn name(&self) -> &str {
        "interpolated"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"prefill": {"tokens": [100, 1100], "ms": [10.0, 30.0]},
        "decode": {"active_kv_tokens": [0, 1000], "context_length": [100, 300],
                   "ms": [[5.0, 7.0], [15.0, 21.0]]}}"#;

    fn decode(kv: u64, seqs: u32, ctx_total: u64) -> DecodeShape {
        DecodeShape {
            sequences: seqs,
            context_tokens: ctx_total,
            kv_tokens_in_use: kv,
            kv_capacity_tokens: 10_000,
            tokens_per_sequence: 1,
        }
    }

    #[test]
    fn interpolates_and_extrapolates_prefill() {
        let m = InterpolatedModel::from_json(JSON, "p.json").unwrap();
        let at = |n| {
            m.prefill_ms(&[PrefillChunk {
                new_tokens: n,
                context_tokens: 0,
            }])
        };
        assert_eq!(at(100), 10.0);
        assert_eq!(at(600), 20.0);
        assert_eq!(at(2100), 50.0); // extrapolated
        assert_eq!(at(1), 8.02); // extrapolated below
    }

    #[test]
    fn bilinear_decode_with_floor() {
        let m = InterpolatedModel::from_json(JSON, "p.json").unwrap();
        assert_eq!(m.decode_ms(&decode(0, 1, 100)), 5.0);
        assert_eq!(m.decode_ms(&decode(1000, 2, 600)), 21.0);
        // Centre of the grid: mean of the four corners.
        assert_eq!(m.decode_ms(&decode(500, 1, 200)), 12.0);
        // Far below the grid the extrapolation would go negative: floored at 1 ms.
        assert_eq!(
            m.decode_ms(&decode(0, 1, 1)).max(1.0),
            m.decode_ms(&decode(0, 1, 1))
        );
        assert_eq!(m.decode_ms(&decode(0, 0, 0)), 0.0);
    }

    #[test]
    fn csv_and_json_agree() {
        let csv = "phase,tokens,active_kv_tokens,context_length,ms\n\
                   prefill,1100,,,30\nprefill,100,,,10\n\
                   decode,,0,100,5\ndecode,,0,300,7\ndecode,,1000,100,15\ndecode,,1000,300,21\n";
        let a = InterpolatedModel::from_csv(csv, "p.csv").unwrap();
        let b = InterpolatedModel::from_json(JSON, "p.json").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn invalid_tables_are_explained() {
        let err = InterpolatedModel::from_json(r#"{"prefill": {"tokens": [2, 1], "ms": [1, 2]}, "decode": {"active_kv_tokens": [0], "context_length": [1], "ms": [[1]]}}"#, "p.json").unwrap_err();
        assert_eq!(
            err.to_string(),
            "p.json: `prefill.tokens` must be strictly increasing (2 then 1)"
        );
        let err = InterpolatedModel::from_json(r#"{"prefill": {"tokens": [1], "ms": [1]}, "decode": {"active_kv_tokens": [0, 1], "context_length": [1], "ms": [[1]]}}"#, "p.json").unwrap_err();
        assert!(err.to_string().contains("must be 2 rows"), "{err}");
        let err = InterpolatedModel::from_json(
            r#"{"prefill": {"tokens": [1], "ms": [1]}, "extra": 1}"#,
            "p.json",
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `extra`"), "{err}");
        let err = InterpolatedModel::from_csv(
            "phase,tokens,active_kv_tokens,context_length,ms\nprefill,x,,,1\n",
            "p.csv",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "p.csv: line 2: field `tokens` must be a number ≥ 0"
        );
        let err = InterpolatedModel::from_csv("phase,tokens,active_kv_tokens,context_length,ms\nprefill,1,,,1\ndecode,,0,1,1\ndecode,,1,2,1\n", "p.csv").unwrap_err();
        assert!(err.to_string().contains("decode grid has no row"), "{err}");
    }
}
