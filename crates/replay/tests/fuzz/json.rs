//! Strategies for JSON values: arbitrary ones, and objects over a parser's own keys.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Numbers a parser must cope with: small counts, boundaries, negatives, fractions, huge.
pub(crate) fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (0u64..200).prop_map(Value::from),
        1 => prop::sample::select(vec![
            0i64, -1, 1, 2, 255, 256, 65_535, 65_536, i64::from(u32::MAX), i64::from(u32::MAX) + 1,
            i64::MAX, i64::MIN,
        ])
        .prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => prop::sample::select(vec![0.5, -0.5, 1e-9, 1e9, 1e30, -1e30, 1e300, 0.9, 1.0])
            .prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        1 => any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
}

/// Short strings, including the words configurations use.
pub(crate) fn string() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => prop::sample::select(vec![
            "", "auto", "fp8", "bf16", "vllm", "sglang", "trtllm", "h200_sxm", "llama-3.1-8b",
            "round_robin", "kv_router", "prefill", "decode", "agg", "disagg", "sla", "lifo",
            "fifo", "true", "1", "-1", "1e30", "NaN", "inf", "completed", "subagent", "local",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
        1 => "\\PC{0,12}".prop_map(Value::String),
    ]
}

/// Any JSON value, nested a few levels.
pub(crate) fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        string(),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Values of the shapes a field usually has, and anything else now and then.
pub(crate) fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => number(),
        2 => prop::collection::vec((0u64..40).prop_map(Value::from), 0..8).prop_map(Value::Array),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => string(),
        1 => value(),
    ]
}

/// An object whose keys come mostly from `keys` (a parser's vocabulary), with a stray key
/// now and then.
pub(crate) fn object_over(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        9 => prop::sample::select(keys).prop_map(str::to_owned),
        1 => "[a-z_]{1,10}",
    ];
    prop::collection::vec((key, field_value()), 0..keys.len().min(8) + 1).prop_map(|pairs| {
        let mut map = Map::new();
        for (k, v) in pairs {
            map.insert(k, v);
        }
        Value::Object(map)
    })
}
