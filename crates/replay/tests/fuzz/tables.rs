//! Tables and grids: `servesim validate` tables (and each row's case), `sweep --param`
//! grids and stored sweep rows.

use proptest::prelude::*;
use servesim_replay::sweep::{ParamSpec, SweepTable};
use servesim_replay::validate::Table;

use crate::json::{number, string, value};
use crate::{bounded, fuzz_config, one_line};

/// The first rows of a measured table, as CSV records.
fn silicon_records() -> Vec<Vec<String>> {
    let text = include_str!("../../../../fixtures/silicon/nim.csv");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .take(6)
        .filter_map(Result::ok)
        .map(|r| r.iter().map(str::to_owned).collect())
        .collect()
}

fn to_csv(records: &[Vec<String>]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for record in records {
        let _ = writer.write_record(record);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A cell a user might write, or garbage.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => number().prop_map(|v| v.to_string()),
        2 => string().prop_map(|v| v.as_str().unwrap_or_default().to_owned()),
        1 => Just(String::new()),
        1 => "\\PC{0,8}",
    ]
}

proptest! {
    #![proptest_config(fuzz_config())]

    #[test]
    fn validate_tables(
        edits in prop::collection::vec((any::<usize>(), any::<usize>(), cell()), 0..5),
        keep in 1usize..6,
        drop_cell in prop::option::weighted(0.1, (any::<usize>(), any::<usize>())),
    ) {
        let mut records: Vec<Vec<String>> = silicon_records().into_iter().take(keep + 1).collect();
        for (row, col, value) in edits {
            let r = row % records.len();
            let c = col % records[r].len().max(1);
            if let Some(slot) = records[r].get_mut(c) {
                *slot = value;
            }
        }
        if let Some((row, col)) = drop_cell {
            let r = row % records.len();
            if !records[r].is_empty() {
                let c = col % records[r].len();
                records[r].remove(c);
            }
        }
        let text = to_csv(&records);
        match bounded(|| Table::parse(&text, "t.csv"))? {
            Ok(table) => {
                for error in &table.errors {
                    one_line(&error.to_string())?;
                }
                for row in &table.rows {
                    if let Err(error) = bounded(|| row.case())? {
                        one_line(&error.to_string())?;
                        prop_assert!(error.to_string().starts_with("t.csv:"), "{error}");
                    }
                }
            }
            Err(error) => {
                one_line(&error.to_string())?;
                prop_assert!(error.to_string().starts_with("t.csv"), "{error}");
            }
        }
    }

    #[test]
    fn validate_table_bytes(text in "\\PC{0,200}") {
        if let Err(error) = bounded(|| Table::parse(&text, "t.csv"))? {
            one_line(&error.to_string())?;
        }
    }

    #[test]
    fn sweep_params(
        spec in prop_oneof![
            "[a-z_]{0,12}=[0-9.:,eE+-]{0,16}",
            "[a-z_]{1,12}=[a-z_0-9,]{0,16}",
            "\\PC{0,24}",
            (prop::sample::select(vec!["num_workers", "startup_time", "ttft", "router_mode"]),
             number(), number(), number())
                .prop_map(|(k, a, b, c)| format!("{k}={a}:{b}:{c}")),
        ],
    ) {
        if let Err(error) = bounded(|| ParamSpec::parse(&spec))? {
            one_line(&error.to_string())?;
        }
    }

    #[test]
    fn sweep_rows(lines in prop::collection::vec(value(), 0..4)) {
        let text: Vec<String> = lines.iter().map(|v| v.to_string()).collect();
        if let Err(error) = bounded(|| SweepTable::from_jsonl(&text.join("\n"), "rows.jsonl"))? {
            one_line(&error.to_string())?;
        }
    }
}
