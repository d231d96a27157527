//! Property: two prompts share an engine-block hash prefix exactly as far as their token
//! content is equal, for any trace and engine block sizes — without any token vector in the
//! code under test (the oracle below materialises tokens; it is test-only).

#![allow(clippy::expect_used)]

use proptest::prelude::*;
use servesim_trace::{BlockHasher, NodeId, ReadOptions, TraceFormat, Workload, parse_trace};

/// Trace hash ids and input length of one prompt.
type Prompt = (Vec<u64>, u32);

fn workload(tbs: u32, rows: &[Prompt]) -> Workload {
    let text: String = rows
        .iter()
        .map(|(ids, isl)| {
            format!(
                "{{\"timestamp\": 0, \"input_length\": {isl}, \"output_length\": 1, \"hash_ids\": {ids:?}}}\n"
            )
        })
        .collect();
    let options = ReadOptions {
        format: TraceFormat::Mooncake,
        trace_block_size: tbs,
        skip_invalid: false,
    };
    parse_trace(text.as_bytes(), "prop", &options)
        .expect("valid generated trace")
        .workload
}

/// Token at position `p` in the reference's expansion: the hash id of its trace block.
fn token(ids: &[u64], tbs: u32, p: u32) -> u64 {
    ids[(p / tbs) as usize]
}

fn common_token_prefix(a: &Prompt, b: &Prompt, tbs: u32) -> u32 {
    let limit = a.1.min(b.1);
    (0..limit)
        .find(|&p| token(&a.0, tbs, p) != token(&b.0, tbs, p))
        .unwrap_or(limit)
}

/// A pair of prompts sharing `shared` leading hash ids, then diverging.
fn prompt_pair() -> impl Strategy<Value = (u32, u32, Prompt, Prompt)> {
    (1u32..=48, 1u32..=48, 0usize..6, 1usize..6, 1usize..6).prop_flat_map(
        |(tbs, block, shared, extra_a, extra_b)| {
            let prefix = prop::collection::vec(0u64..4, shared);
            let tail_a = prop::collection::vec(0u64..4, extra_a);
            let tail_b = prop::collection::vec(0u64..4, extra_b);
            (
                Just(tbs),
                Just(block),
                prefix,
                tail_a,
                tail_b,
                0.0f64..1.0,
                0.0f64..1.0,
            )
                .prop_map(move |(tbs, block, prefix, tail_a, tail_b, fa, fb)| {
                    let a: Vec<u64> = prefix.iter().chain(&tail_a).copied().collect();
                    let b: Vec<u64> = prefix.iter().chain(&tail_b).copied().collect();
                    // Any input length the ids can cover, including a truncated last block.
                    let isl = |ids: &Vec<u64>, f: f64| {
                        let cap = ids.len() as u32 * tbs;
                        (((cap - 1) as f64 * f) as u32 + 1).max((ids.len() as u32 - 1) * tbs + 1)
                    };
                    let (ia, ib) = (isl(&a, fa), isl(&b, fb));
                    (tbs, block, (a, ia), (b, ib))
                })
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn shared_content_prefix_iff_shared_hash_prefix((tbs, block, a, b) in prompt_pair()) {
        let w = workload(tbs, &[a.clone(), b.clone()]);
        let ha = w.prompt_blocks(NodeId(0), block).hashes;
        let hb = w.prompt_blocks(NodeId(1), block).hashes;
        prop_assert_eq!(ha.len() as u32, a.1 / block);
        prop_assert_eq!(hb.len() as u32, b.1 / block);
        let shared_blocks = (common_token_prefix(&a, &b, tbs) / block) as usize;
        prop_assert_eq!(&ha[..shared_blocks], &hb[..shared_blocks]);
        if shared_blocks < ha.len() && shared_blocks < hb.len() {
            prop_assert_ne!(ha[shared_blocks], hb[shared_blocks]);
        }
    }

    #[test]
    fn hashes_do_not_depend_on_how_runs_are_split(
        block in 1u32..64,
        runs in prop::collection::vec((0u64..3, 1u64..200), 1..12),
        cuts in prop::collection::vec(1u64..50, 1..30),
    ) {
        let mut whole = BlockHasher::new(block);
        let mut expected = Vec::new();
        for &(content, len) in &runs {
            whole.push_run(content, len, &mut expected);
        }
        // Re-feed the same tokens in pieces of arbitrary lengths.
        let mut pieces = BlockHasher::new(block);
        let mut got = Vec::new();
        let mut cut = cuts.iter().cycle();
        for &(content, len) in &runs {
            let mut left = len;
            while left > 0 {
                let take = left.min(*cut.next().unwrap_or(&1));
                pieces.push_run(content, take, &mut got);
                left -= take;
            }
        }
        prop_assert_eq!(got, expected);
        prop_assert_eq!(pieces, whole);
    }
}
