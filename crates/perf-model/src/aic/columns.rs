//! Reading whole columns of a Parquet table: AIConfigurator's tables are flat (strings,
//! 64-bit integers, doubles), written by pandas/pyarrow with zstd or snappy pages.
//!
//! Numbers are read as `f64` (`NaN` for a null), strings as codes into a per-column
//! dictionary, so that a 100k-row table costs a few MB while it is being indexed.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use parquet::basic::Type as PhysicalType;
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::DataType;
use parquet::errors::ParquetError;
use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::error::PerfError;

/// One column's values.
#[derive(Clone, Debug)]
enum Column {
    /// Integers and floating point, `NaN` where null.
    Number(Vec<f64>),
    /// Strings: one code per row into `dict`; `None` where null.
    Text {
        codes: Vec<Option<u32>>,
        dict: Vec<String>,
    },
}

/// Selected columns of one Parquet file.
#[derive(Clone, Debug)]
pub(crate) struct Columns {
    path: String,
    rows: usize,
    columns: HashMap<String, Column>,
}

/// Records read per call.
const BATCH: usize = 8192;

fn read_column<T: DataType>(
    mut reader: ColumnReaderImpl<T>,
    max_def: i16,
    out: &mut Vec<Option<T::T>>,
) -> Result<(), ParquetError> {
    let (mut defs, mut values) = (Vec::new(), Vec::new());
    loop {
        defs.clear();
        values.clear();
        let levels = (max_def > 0).then_some(&mut defs);
        let (records, _, _) = reader.read_records(BATCH, levels, None, &mut values)?;
        if records == 0 {
            return Ok(());
        }
        if max_def > 0 {
            let mut it = values.drain(..);
            out.extend(
                defs.iter()
                    .map(|&d| if d == max_def { it.next() } else { None }),
            );
        } else {
            out.extend(values.drain(..).map(Some));
        }
    }
}

impl Columns {
    /// Reads `required` columns (an error names the first one missing) and those of
    /// `optional` that exist.
    pub(crate) fn read(
        path: &Path,
        required: &[&str],
        optional: &[&str],
    ) -> Result<Columns, PerfError> {
        let shown = path.display().to_string();
        let err = |message: String| PerfError::Database {
            path: shown.clone(),
            message,
        };
        let file = File::open(path).map_err(|e| PerfError::Io {
            path: shown.clone(),
            source: e,
        })?;
        let reader = SerializedFileReader::new(file)
            .map_err(|e| err(format!("not a readable Parquet file: {e}")))?;
        let meta = reader.metadata();
        let schema = meta.file_metadata().schema_descr();
        let index: HashMap<&str, usize> = schema
            .columns()
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name(), i))
            .collect();
        if let Some(missing) = required.iter().find(|name| !index.contains_key(**name)) {
            return Err(err(format!("missing column `{missing}`")));
        }
        let wanted: Vec<(&str, usize)> = required
            .iter()
            .chain(optional)
            .filter_map(|name| index.get(name).map(|&i| (*name, i)))
            .collect();
        let rows = usize::try_from(meta.file_metadata().num_rows()).unwrap_or(0);
        let mut columns = HashMap::new();
        for (name, i) in wanted {
            let max_def = schema.column(i).max_def_level();
            let is_text = schema.column(i).physical_type() == PhysicalType::BYTE_ARRAY;
            let mut numbers: Vec<f64> = Vec::with_capacity(rows);
            let mut texts: Vec<Option<String>> = Vec::new();
            for g in 0..reader.num_row_groups() {
                let group = reader.get_row_group(g).map_err(|e| err(e.to_string()))?;
                let column = group.get_column_reader(i).map_err(|e| err(e.to_string()))?;
                let read = match column {
                    ColumnReader::Int64ColumnReader(r) => {
                        let mut v = Vec::new();
                        let res = read_column(r, max_def, &mut v);
                        numbers.extend(v.into_iter().map(|x| x.map_or(f64::NAN, |x| x as f64)));
                        res
                    }
                    ColumnReader::Int32ColumnReader(r) => {
                        let mut v = Vec::new();
                        let res = read_column(r, max_def, &mut v);
                        numbers.extend(v.into_iter().map(|x| x.map_or(f64::NAN, f64::from)));
                        res
                    }
                    ColumnReader::DoubleColumnReader(r) => {
                        let mut v = Vec::new();
                        let res = read_column(r, max_def, &mut v);
                        numbers.extend(v.into_iter().map(|x| x.unwrap_or(f64::NAN)));
                        res
                    }
                    ColumnReader::FloatColumnReader(r) => {
                        let mut v = Vec::new();
                        let res = read_column(r, max_def, &mut v);
                        numbers.extend(v.into_iter().map(|x| x.map_or(f64::NAN, f64::from)));
                        res
                    }
                    ColumnReader::ByteArrayColumnReader(r) => {
                        let mut v = Vec::new();
                        let res = read_column(r, max_def, &mut v);
                        texts
                            .extend(v.into_iter().map(|x| {
                                x.map(|b| String::from_utf8_lossy(b.data()).into_owned())
                            }));
                        res
                    }
                    _ => return Err(err(format!("column `{name}` has an unsupported type"))),
                };
                read.map_err(|e| err(format!("column `{name}`: {e}")))?;
            }
            let column = if !is_text {
                Column::Number(numbers)
            } else {
                let mut dict: Vec<String> = Vec::new();
                let mut lookup: HashMap<String, u32> = HashMap::new();
                let codes = texts
                    .into_iter()
                    .map(|t| {
                        t.map(|t| {
                            *lookup.entry(t).or_insert_with_key(|t| {
                                dict.push(t.clone());
                                u32::try_from(dict.len() - 1).unwrap_or(u32::MAX)
                            })
                        })
                    })
                    .collect();
                Column::Text { codes, dict }
            };
            columns.insert(name.to_owned(), column);
        }
        Ok(Columns {
            path: shown,
            rows,
            columns,
        })
    }

    /// Number of rows.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    fn error(&self, message: String) -> PerfError {
        PerfError::Database {
            path: self.path.clone(),
            message,
        }
    }

    /// A numeric column (`NaN` where null).
    pub(crate) fn numbers(&self, name: &str) -> Result<&[f64], PerfError> {
        match self.columns.get(name) {
            Some(Column::Number(v)) if v.len() == self.rows => Ok(v),
            Some(_) => Err(self.error(format!("column `{name}` is not numeric"))),
            None => Err(self.error(format!("missing column `{name}`"))),
        }
    }

    /// A numeric column whose values are table keys: non-negative integers that fit `u32`.
    pub(crate) fn keys(&self, name: &str) -> Result<Vec<u32>, PerfError> {
        self.numbers(name)?
            .iter()
            .enumerate()
            .map(|(row, &v)| {
                (v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX))
                    .then_some(v as u32)
                    .ok_or_else(|| {
                        self.error(format!(
                            "column `{name}`, row {row}: {v} is not a valid key"
                        ))
                    })
            })
            .collect()
    }

    /// A string column as one `&str` per row (`""` where null); `None` when the column is
    /// absent (it was optional).
    pub(crate) fn text(&self, name: &str) -> Result<Option<Vec<&str>>, PerfError> {
        match self.columns.get(name) {
            None => Ok(None),
            Some(Column::Text { codes, dict }) if codes.len() == self.rows => Ok(Some(
                codes
                    .iter()
                    .map(|c| {
                        c.and_then(|c| dict.get(c as usize))
                            .map_or("", String::as_str)
                    })
                    .collect(),
            )),
            Some(_) => Err(self.error(format!("column `{name}` is not a string column"))),
        }
    }

    /// A string column that must exist.
    pub(crate) fn required_text(&self, name: &str) -> Result<Vec<&str>, PerfError> {
        self.text(name)?
            .ok_or_else(|| self.error(format!("missing column `{name}`")))
    }
}
