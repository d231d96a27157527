//! Measurement tables: one measured serving benchmark per CSV row, read into typed rows.
//!
//! Columns (header names; order free, unknown columns are reported and ignored):
//!
//! | column | meaning |
//! |---|---|
//! | `model` | Hugging Face id as served (`nvidia/Llama-3.3-70B-Instruct-FP8`) |
//! | `system` | GPU (`h100_sxm`, `h200_sxm`, `b200_sxm`, …) |
//! | `backend` | `vllm`, `sglang` or `trtllm` |
//! | `precision` | weight format `bf16`, `fp16`, `fp8`, `fp4` (NVFP4), `mxfp4` (default: the name's) |
//! | `tp`, `ep` | tensor- and expert-parallel sizes (default 1) |
//! | `dp_attention` | attention data parallelism (`true`/`false` or a size) |
//! | `spec_method` | speculative decoding of the run (`none`, the default; others are not replayed) |
//! | `kv_cache_dtype`, `gpu_memory_utilization`, `max_num_seqs`, `max_num_batched_tokens`, `enable_chunked_prefill` | engine settings, when the benchmark set them |
//! | `dataset` | `random` (the default): synthetic lengths; other datasets are not replayed |
//! | `isl`, `osl`, `random_range_ratio` | nominal lengths; lengths uniform in `[⌊R·L⌋, L]` (1: fixed) |
//! | `concurrency`, `num_prompts`, `warmup_requests` | closed-loop client: requests in flight, measured requests (default 10 × concurrency), warm-up requests |
//! | `num_gpus` | GPUs behind the measured figures (default: `tp`) |
//! | `mean_ttft_ms`, `mean_tpot_ms`, `throughput_tok_s_per_gpu`, `output_tok_s_per_gpu` | measured; any may be empty |
//! | `engine_version`, `client`, `source`, `licence`, `notes` | provenance (not simulated) |
//!
//! A row that cannot be read (a non-number, a missing required cell) is an error naming
//! `file:line: column`; the other rows still load.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::Serialize;

/// The columns a table may have, in documentation order.
pub const COLUMNS: [&str; 29] = [
    "model",
    "system",
    "backend",
    "precision",
    "tp",
    "ep",
    "dp_attention",
    "spec_method",
    "kv_cache_dtype",
    "gpu_memory_utilization",
    "max_num_seqs",
    "max_num_batched_tokens",
    "enable_chunked_prefill",
    "dataset",
    "isl",
    "osl",
    "random_range_ratio",
    "concurrency",
    "num_prompts",
    "warmup_requests",
    "mean_ttft_ms",
    "mean_tpot_ms",
    "throughput_tok_s_per_gpu",
    "output_tok_s_per_gpu",
    "num_gpus",
    "engine_version",
    "client",
    "source",
    "notes",
];

/// Measured requests per concurrency slot when a row does not give `num_prompts`.
const DEFAULT_PROMPTS_PER_SLOT: u32 = 10;

/// Values of `precision` (the engine's `weight_dtype`).
const PRECISIONS: [&str; 6] = ["bf16", "fp16", "fp8", "fp4", "nvfp4", "mxfp4"];

/// Values of `kv_cache_dtype`.
const KV_DTYPES: [&str; 8] = [
    "auto", "bf16", "bfloat16", "fp16", "float16", "fp8", "fp8_e4m3", "fp8_e5m2",
];

/// Columns accepted as provenance beside [`COLUMNS`].
const METADATA: [&str; 1] = ["licence"];

/// Where a row came from: file and 1-based line of its first field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowPlace {
    /// The table's path as given.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
}

impl RowPlace {
    /// The table's file name, without its folders.
    pub fn table_name(&self) -> &str {
        Path::new(&self.file)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(&self.file)
    }
}

impl fmt::Display for RowPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A row that cannot be read or run: `file:line: column: reason`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{place}: {column}: {message}")]
pub struct RowError {
    /// The row.
    pub place: RowPlace,
    /// The offending column (or `row` for the row as a whole).
    pub column: String,
    /// What is wrong.
    pub message: String,
}

/// The measured figures of a row (any may be missing).
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct Measured {
    /// Mean time to first token, ms.
    pub mean_ttft_ms: Option<f64>,
    /// Mean time per output token, ms.
    pub mean_tpot_ms: Option<f64>,
    /// Prompt plus generated tokens per second per GPU.
    pub throughput_tok_s_per_gpu: Option<f64>,
    /// Generated tokens per second per GPU.
    pub output_tok_s_per_gpu: Option<f64>,
}

/// One measured benchmark: the deployment, the client's workload and what was measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measurement {
    /// Where the row is.
    pub place: RowPlace,
    /// Hugging Face id.
    pub model: String,
    /// GPU system name.
    pub system: String,
    /// Serving engine (`vllm`, `sglang`, `trtllm`).
    pub backend: String,
    /// Weight format, when given (`nvfp4` reads as `fp4`).
    pub precision: Option<String>,
    /// Tensor-parallel size.
    pub tp: u32,
    /// Expert-parallel size (MoE models).
    pub ep: Option<u32>,
    /// Attention data-parallel size (1 without).
    pub dp_attention: u32,
    /// Speculative decoding of the run (`none` without).
    pub spec_method: String,
    /// KV-cache format, when given.
    pub kv_cache_dtype: Option<String>,
    /// The engine's memory fraction, when given.
    pub gpu_memory_utilization: Option<f64>,
    /// Most sequences at once, when given.
    pub max_num_seqs: Option<u32>,
    /// Token budget of a pass, when given.
    pub max_num_batched_tokens: Option<u32>,
    /// Whether long prompts are split across passes, when given.
    pub enable_chunked_prefill: Option<bool>,
    /// The client's dataset (`random`: synthetic lengths).
    pub dataset: String,
    /// Nominal prompt length.
    pub isl: u32,
    /// Nominal output length.
    pub osl: u32,
    /// Lengths uniform in `[⌊R·L⌋, L]`.
    pub random_range_ratio: f64,
    /// Requests in flight.
    pub concurrency: u32,
    /// Measured requests.
    pub num_prompts: u32,
    /// Warm-up requests run first (not measured).
    pub warmup_requests: u32,
    /// GPUs behind the figures.
    pub num_gpus: u32,
    /// The benchmark client, when given (`trtllm-bench` sizes its engine itself).
    pub client: Option<String>,
    /// What was measured.
    pub measured: Measured,
    /// Provenance, as given.
    pub source: Option<String>,
}

/// A loaded table: its rows, the rows that could not be read, and unknown columns.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Rows read.
    pub rows: Vec<Measurement>,
    /// Rows that could not be read.
    pub errors: Vec<RowError>,
    /// Header names that are not columns of the format (ignored).
    pub unknown_columns: Vec<String>,
}

impl Table {
    /// Reads a table from a file.
    pub fn read(path: &Path) -> Result<Table, RowError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| RowError {
            place: RowPlace {
                file: name.clone(),
                line: 0,
            },
            column: "file".to_owned(),
            message: e.to_string(),
        })?;
        Table::parse(&text, &name)
    }

    /// Parses a table; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Table, RowError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let file_error = |line: u64, message: String| RowError {
            place: RowPlace {
                file: file.to_owned(),
                line,
            },
            column: "header".to_owned(),
            message,
        };
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| file_error(1, e.to_string()))?
            .iter()
            .map(str::to_owned)
            .collect();
        for required in ["model", "system", "backend"] {
            if !header.iter().any(|h| h == required) {
                return Err(file_error(1, format!("missing the `{required}` column")));
            }
        }
        let mut table = Table {
            unknown_columns: header
                .iter()
                .filter(|h| !COLUMNS.contains(&h.as_str()) && !METADATA.contains(&h.as_str()))
                .cloned()
                .collect(),
            ..Table::default()
        };
        for record in reader.records() {
            match record {
                Ok(record) => {
                    let line = record.position().map_or(0, csv::Position::line);
                    let place = RowPlace {
                        file: file.to_owned(),
                        line,
                    };
                    let cells = Cells {
                        header: &header,
                        record: &record,
                        place: &place,
                    };
                    match Measurement::from_cells(&cells) {
                        Ok(row) => table.rows.push(row),
                        Err(e) => table.errors.push(e),
                    }
                }
                Err(e) => {
                    let line = e.position().map_or(0, csv::Position::line);
                    table.errors.push(RowError {
                        place: RowPlace {
                            file: file.to_owned(),
                            line,
                        },
                        column: "row".to_owned(),
                        message: e.to_string(),
                    });
                }
            }
        }
        Ok(table)
    }
}

/// The cells of one record, by column name.
struct Cells<'a> {
    header: &'a [String],
    record: &'a csv::StringRecord,
    place: &'a RowPlace,
}

impl Cells<'_> {
    fn error(&self, column: &str, message: impl Into<String>) -> RowError {
        RowError {
            place: self.place.clone(),
            column: column.to_owned(),
            message: message.into(),
        }
    }

    /// The cell of `column`, `None` if the column is absent or the cell empty.
    fn text(&self, column: &str) -> Option<&str> {
        let i = self.header.iter().position(|h| h == column)?;
        self.record.get(i).filter(|s| !s.is_empty())
    }

    fn required(&self, column: &str) -> Result<&str, RowError> {
        self.text(column)
            .ok_or_else(|| self.error(column, "is required"))
    }

    fn parsed<T: FromStr>(&self, column: &str, what: &str) -> Result<Option<T>, RowError> {
        self.text(column)
            .map(|s| {
                s.parse::<T>()
                    .map_err(|_| self.error(column, format!("expected {what}, got `{s}`")))
            })
            .transpose()
    }

    /// A count ≥ 1.
    fn count(&self, column: &str) -> Result<Option<u32>, RowError> {
        match self.parsed::<u32>(column, "a whole number ≥ 1")? {
            Some(0) => Err(self.error(column, "must be ≥ 1")),
            other => Ok(other),
        }
    }

    /// A finite number > 0.
    fn positive(&self, column: &str) -> Result<Option<f64>, RowError> {
        match self.parsed::<f64>(column, "a number")? {
            Some(x) if !(x.is_finite() && x > 0.0) => {
                Err(self.error(column, format!("must be a finite number > 0, got {x}")))
            }
            other => Ok(other),
        }
    }
}

impl Measurement {
    fn from_cells(c: &Cells<'_>) -> Result<Measurement, RowError> {
        let backend = c.required("backend")?.to_ascii_lowercase();
        if !matches!(backend.as_str(), "vllm" | "sglang" | "trtllm") {
            return Err(c.error(
                "backend",
                format!("must be vllm, sglang or trtllm, got `{backend}`"),
            ));
        }
        let tp = c.count("tp")?.unwrap_or(1);
        let dp_attention = match c.text("dp_attention").map(str::to_ascii_lowercase) {
            None => 1,
            Some(s) if s == "false" || s == "0" || s == "1" => 1,
            Some(s) if s == "true" => tp,
            Some(s) => s.parse::<u32>().map_err(|_| {
                c.error(
                    "dp_attention",
                    format!("expected true, false or a size, got `{s}`"),
                )
            })?,
        };
        let dataset = c.text("dataset").unwrap_or("random").to_ascii_lowercase();
        let random = dataset == "random";
        let length = |column: &str| -> Result<u32, RowError> {
            match c.count(column)? {
                Some(n) => Ok(n),
                None if random => Err(c.error(column, "is required with the random dataset")),
                None => Ok(0),
            }
        };
        let (isl, osl) = (length("isl")?, length("osl")?);
        let random_range_ratio = match c
            .parsed::<f64>("random_range_ratio", "a number in [0, 1]")?
        {
            Some(r) if !(0.0..=1.0).contains(&r) => {
                return Err(c.error("random_range_ratio", format!("must be in [0, 1], got {r}")));
            }
            Some(r) => r,
            None => 1.0,
        };
        let num_prompts = c.count("num_prompts")?;
        let concurrency = c.count("concurrency")?;
        let (concurrency, num_prompts) = match (concurrency, num_prompts) {
            (Some(c), Some(n)) => (c, n),
            // An offline run submits everything at once.
            (None, Some(n)) => (n, n),
            // As InferenceMAX runs: ten requests per slot.
            (Some(c), None) => (c, c.saturating_mul(DEFAULT_PROMPTS_PER_SLOT)),
            (None, None) => {
                return Err(c.error(
                    "concurrency",
                    "is required, or num_prompts for an offline run that submits every request at once",
                ));
            }
        };
        let gpu_memory_utilization = match c.positive("gpu_memory_utilization")? {
            Some(f) if f > 1.0 => {
                return Err(c.error(
                    "gpu_memory_utilization",
                    format!("must be in (0, 1], got {f}"),
                ));
            }
            other => other,
        };
        let precision = c.text("precision").map(|p| {
            let p = p.to_ascii_lowercase();
            // The engine's `fp4` is NVFP4.
            if p == "nvfp4" { "fp4".to_owned() } else { p }
        });
        if let Some(p) = &precision
            && !PRECISIONS.contains(&p.as_str())
        {
            return Err(c.error(
                "precision",
                format!("must be one of {}, got `{p}`", PRECISIONS.join(", ")),
            ));
        }
        let kv_cache_dtype = c.text("kv_cache_dtype").map(str::to_ascii_lowercase);
        if let Some(k) = &kv_cache_dtype
            && !KV_DTYPES.contains(&k.as_str())
        {
            return Err(c.error(
                "kv_cache_dtype",
                format!("must be one of {}, got `{k}`", KV_DTYPES.join(", ")),
            ));
        }
        let measured = Measured {
            mean_ttft_ms: c.positive("mean_ttft_ms")?,
            mean_tpot_ms: c.positive("mean_tpot_ms")?,
            throughput_tok_s_per_gpu: c.positive("throughput_tok_s_per_gpu")?,
            output_tok_s_per_gpu: c.positive("output_tok_s_per_gpu")?,
        };
        Ok(Measurement {
            place: c.place.clone(),
            model: c.required("model")?.to_owned(),
            system: c.required("system")?.to_owned(),
            backend,
            dataset,
            precision,
            tp,
            ep: c.count("ep")?,
            dp_attention,
            spec_method: c.text("spec_method").unwrap_or("none").to_ascii_lowercase(),
            kv_cache_dtype,
            gpu_memory_utilization,
            max_num_seqs: c.count("max_num_seqs")?,
            max_num_batched_tokens: c.count("max_num_batched_tokens")?,
            enable_chunked_prefill: c.parsed::<bool>("enable_chunked_prefill", "true or false")?,
            isl,
            osl,
            random_range_ratio,
            concurrency,
            num_prompts,
            warmup_requests: c
                .parsed::<u32>("warmup_requests", "a whole number")?
                .unwrap_or(0),
            num_gpus: c.count("num_gpus")?.unwrap_or(tp),
            client: c.text("client").map(str::to_owned),
            measured,
            source: c.text("source").map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "model,system,backend,tp,isl,osl,concurrency,num_prompts,mean_ttft_ms,notes";

    #[test]
    fn rows_are_typed_and_bad_cells_named() {
        let text = format!(
            "{HEADER}\n\
             llama-3.1-8b,h100_sxm,vllm,1,1024,128,8,80,35.5,\"a note, with a comma\"\n\
             llama-3.1-8b,h100_sxm,vllm,x,1024,128,8,80,,\n\
             llama-3.1-8b,h100_sxm,tgi,1,1024,128,8,80,,\n\
             llama-3.1-8b,h100_sxm,vllm,1,1024,128,,,,\n\
             llama-3.1-8b,h100_sxm,vllm,1,1024,128,,500,,\n\
             llama-3.1-8b,h100_sxm,vllm,1,1024,128,4,,,\n"
        );
        let table = Table::parse(&text, "t.csv").unwrap();
        assert_eq!(table.rows.len(), 3);
        let row = &table.rows[0];
        assert_eq!(
            (row.isl, row.osl, row.concurrency, row.num_prompts),
            (1024, 128, 8, 80)
        );
        assert_eq!(row.measured.mean_ttft_ms, Some(35.5));
        assert_eq!(row.place.line, 2);
        // Offline: everything in flight at once.
        assert_eq!(
            (table.rows[1].concurrency, table.rows[1].num_prompts),
            (500, 500)
        );
        let errors: Vec<String> = table.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            errors,
            vec![
                "t.csv:3: tp: expected a whole number ≥ 1, got `x`",
                "t.csv:4: backend: must be vllm, sglang or trtllm, got `tgi`",
                "t.csv:5: concurrency: is required, or num_prompts for an offline run that submits every request at once",
            ]
        );
        assert!(table.unknown_columns.is_empty());
    }

    #[test]
    fn headers_are_checked_and_unknown_columns_reported() {
        let err = Table::parse("model,system,isl,osl\n", "t.csv").unwrap_err();
        assert_eq!(err.column, "header");
        assert_eq!(
            err.to_string(),
            "t.csv:1: header: missing the `backend` column"
        );
        let table = Table::parse("model,system,backend,isl,osl,colour\n", "t.csv").unwrap();
        assert_eq!(table.unknown_columns, vec!["colour"]);
        let text = "model,system,backend,isl,osl\nm,s,vllm,1\n";
        let table = Table::parse(text, "t.csv").unwrap();
        assert_eq!(table.errors[0].column, "row");
    }
}
