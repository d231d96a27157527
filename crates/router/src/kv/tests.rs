//! Tests of the KV-aware router: costs, ties, sampling, queueing, prefill load, router blocks,
//! event delay and assumed reuse.

use super::*;

fn h(n: u64) -> BlockHash {
    BlockHash(n)
}

fn router(config: KvRouterConfig, workers: u32) -> KvRouter {
    let mut r = KvRouter::new(config, 64, 8192, 7, None).unwrap();
    for w in 0..workers {
        r.add_worker(WorkerId(w), SimTime::ZERO);
    }
    r
}

fn request<'a>(id: u64, isl: u32, hashes: &'a [BlockHash]) -> RouteRequest<'a> {
    RouteRequest {
        id: RequestId(id),
        input_tokens: isl,
        output_tokens: 10,
        block_hashes: hashes,
        shared_blocks: u32::MAX,
    }
}

fn stored(hashes: &[u64]) -> Vec<(SimTime, KvEvent)> {
    hashes
        .iter()
        .map(|&n| {
            (
                SimTime::ZERO,
                KvEvent::Stored {
                    hash: h(n),
                    parent: None,
                },
            )
        })
        .collect()
}

#[test]
fn cost_combines_overlap_prefill_and_active_blocks() {
    let mut r = router(KvRouterConfig::default(), 2);
    r.on_kv_events(WorkerId(0), &stored(&[1, 2]));
    let hashes = [h(1), h(2), h(3)];
    let costs = r.costs(192, &hashes, SimTime::ZERO).to_vec();
    assert_eq!(
        costs,
        vec![
            WorkerCost {
                worker: WorkerId(0),
                overlap_blocks: 2,
                prefill_tokens: 64,
                decode_blocks: 3,
                logit: 4.0
            },
            WorkerCost {
                worker: WorkerId(1),
                overlap_blocks: 0,
                prefill_tokens: 192,
                decode_blocks: 3,
                logit: 6.0
            },
        ]
    );
    assert_eq!(
        r.route(&request(1, 192, &hashes), SimTime::ZERO),
        Routed::To(WorkerId(0))
    );
    // Worker 0 now has 64 pending prefill tokens and 3 active blocks. The same prompt
    // again deduplicates against the running request: no new decode blocks there.
    let costs = r.costs(192, &hashes, SimTime::ZERO).to_vec();
    assert_eq!(
        (
            costs[0].prefill_tokens,
            costs[0].decode_blocks,
            costs[0].logit
        ),
        (128, 3, 5.0)
    );
    assert_eq!(
        (
            costs[1].prefill_tokens,
            costs[1].decode_blocks,
            costs[1].logit
        ),
        (192, 3, 6.0)
    );
    // Once the first request's prefill is done only its blocks remain as load.
    r.on_first_token(RequestId(1), SimTime::ZERO);
    assert_eq!(r.costs(192, &hashes, SimTime::ZERO)[0].logit, 4.0);
    r.on_finished(RequestId(1), SimTime::ZERO);
    assert_eq!(r.costs(192, &hashes, SimTime::ZERO)[0].decode_blocks, 3);
}

#[test]
fn ties_go_to_the_least_cached_then_lowest_worker() {
    let mut r = router(KvRouterConfig::default(), 3);
    // Workers 0 and 2 cache an unrelated block; worker 1 caches nothing.
    r.on_kv_events(WorkerId(0), &stored(&[99]));
    r.on_kv_events(WorkerId(2), &stored(&[98]));
    let hashes = [h(1)];
    assert_eq!(
        r.route(&request(1, 64, &hashes), SimTime::ZERO),
        Routed::To(WorkerId(1))
    );
    let mut fresh = router(KvRouterConfig::default(), 3);
    assert_eq!(
        fresh.route(&request(1, 64, &hashes), SimTime::ZERO),
        Routed::To(WorkerId(0))
    );
    assert_eq!(
        fresh.route(&request(2, 64, &hashes), SimTime::ZERO),
        Routed::To(WorkerId(1))
    );
}

#[test]
fn softmax_sampling_matches_probabilities_and_seed() {
    let config = KvRouterConfig {
        router_temperature: 0.5,
        ..KvRouterConfig::default()
    };
    let mut r = router(config.clone(), 3);
    r.on_kv_events(WorkerId(0), &stored(&[1, 2, 3]));
    r.on_kv_events(WorkerId(1), &stored(&[1]));
    let hashes = [h(1), h(2), h(3), h(4)];
    let logits: Vec<f64> = r
        .costs(256, &hashes, SimTime::ZERO)
        .iter()
        .map(|c| c.logit)
        .collect();
    assert_eq!(logits, vec![5.0, 7.0, 8.0]);
    // p ∝ exp(−(l − 5)/(3 · 0.5)).
    let weights: Vec<f64> = logits.iter().map(|l| (-(l - 5.0) / 1.5).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut counts = [0u32; 3];
    let draws = 60_000;
    for _ in 0..draws {
        let choice = r.pick().unwrap();
        counts[choice.worker.0 as usize] += 1;
    }
    for (count, weight) in counts.iter().zip(&weights) {
        let share = f64::from(*count) / f64::from(draws);
        assert!(
            (share - weight / total).abs() < 0.01,
            "{share} vs {}",
            weight / total
        );
    }
    // Same seed, same sequence.
    let mut a = router(config.clone(), 3);
    let mut b = router(config, 3);
    let picks = |r: &mut KvRouter| -> Vec<Routed> {
        (0..20)
            .map(|i| r.route(&request(i, 256, &hashes), SimTime::ZERO))
            .collect()
    };
    assert_eq!(picks(&mut a), picks(&mut b));
}

/// With a threshold of 0 a worker is busy while any prompt is pending on it.
fn release_order(policy: QueuePolicy) -> Vec<u64> {
    let config = KvRouterConfig {
        router_queue_threshold: Some(0.0),
        router_queue_policy: policy,
        ..KvRouterConfig::default()
    };
    let mut r = router(config, 1);
    let hashes: Vec<Vec<BlockHash>> = (0..5).map(|i| vec![h(100 + i)]).collect();
    let t = SimTime::from_millis;
    assert_eq!(
        r.route(&request(0, 64, &hashes[0]), t(0)),
        Routed::To(WorkerId(0))
    );
    // Three requests arrive while the worker is busy: ISL 300, 100, 200.
    for (id, isl, at) in [(1, 300, 1), (2, 100, 2), (3, 200, 3)] {
        assert_eq!(
            r.route(&request(id, isl, &hashes[id as usize]), t(at)),
            Routed::Queued
        );
    }
    assert_eq!(r.queued(), 3);
    let mut order = Vec::new();
    let mut current = RequestId(0);
    for step in 0..3 {
        r.on_first_token(current, t(10 + step));
        let (next, worker) = r.pop_dispatch(t(10 + step)).unwrap();
        assert_eq!(worker, WorkerId(0));
        assert_eq!(
            r.pop_dispatch(t(10 + step)),
            None,
            "one at a time: the worker is busy again"
        );
        order.push(next.0);
        current = next;
    }
    order
}

#[test]
fn queue_policies() {
    assert_eq!(release_order(QueuePolicy::Fcfs), vec![1, 2, 3]);
    assert_eq!(release_order(QueuePolicy::Lcfs), vec![3, 2, 1]);
    assert_eq!(release_order(QueuePolicy::Wspt), vec![2, 3, 1]);
}

#[test]
fn decaying_prefill_load_frees_a_busy_worker() {
    let config = KvRouterConfig {
        router_queue_threshold: Some(0.5),
        router_prefill_load_model: PrefillLoadModel::Aic,
        ..KvRouterConfig::default()
    };
    // Every prompt is expected to take 100 ms.
    let estimator: PrefillEstimator = Box::new(|_, _| SimTime::from_millis(100));
    let mut r = KvRouter::new(config, 64, 8192, 7, Some(estimator)).unwrap();
    r.add_worker(WorkerId(0), SimTime::ZERO);
    let a = [h(1)];
    assert_eq!(
        r.route(&request(1, 8192, &a), SimTime::ZERO),
        Routed::To(WorkerId(0))
    );
    // 8192 pending > 0.5 × 8192: busy, so the next request queues…
    assert_eq!(
        r.route(&request(2, 64, &a), SimTime::from_millis(10)),
        Routed::Queued
    );
    // …but after 60 ms the oldest prompt has decayed to 40%: 3277 < 4096, not busy.
    assert_eq!(
        r.route(&request(3, 64, &a), SimTime::from_millis(60)),
        Routed::To(WorkerId(0))
    );
}

#[test]
fn small_engine_blocks_are_routed_in_coarser_router_blocks() {
    // One-token pages: the router asks for every 16th page and counts 16-token blocks.
    let mut r = KvRouter::new(KvRouterConfig::default(), 1, 8192, 7, None).unwrap();
    assert_eq!(
        (r.block_size(), r.kv_event_stride()),
        (16, NonZeroU32::new(16))
    );
    for w in 0..2 {
        r.add_worker(WorkerId(w), SimTime::ZERO);
    }
    let pages: Vec<BlockHash> = (1..=40).map(h).collect();
    // Worker 1 reports the pages ending its first two router blocks: 32 tokens cached.
    r.on_kv_events(WorkerId(1), &stored(&[16, 32]));
    let costs = r.costs(40, &pages, SimTime::ZERO).to_vec();
    assert_eq!(
        costs
            .iter()
            .map(|c| (c.overlap_blocks, c.prefill_tokens, c.decode_blocks))
            .collect::<Vec<_>>(),
        // 40 tokens are 3 router blocks (2 full, 1 partial).
        vec![(0, 40, 3), (2, 8, 3)]
    );
    assert_eq!(
        r.route(&request(1, 40, &pages), SimTime::ZERO),
        Routed::To(WorkerId(1))
    );
    // An explicit router block size of one page indexes every page.
    let exact = KvRouterConfig {
        router_block_size: Some(1),
        ..KvRouterConfig::default()
    };
    let r = KvRouter::new(exact.clone(), 1, 8192, 7, None).unwrap();
    assert_eq!(
        (r.block_size(), r.kv_event_stride()),
        (1, NonZeroU32::new(1))
    );
    assert!(KvRouter::new(exact, 16, 8192, 7, None).is_err());
    // Without KV events the router asks for none.
    let ttl = KvRouterConfig {
        use_kv_events: false,
        ..KvRouterConfig::default()
    };
    assert_eq!(
        KvRouter::new(ttl, 1, 8192, 7, None)
            .unwrap()
            .kv_event_stride(),
        None
    );
}

#[test]
fn delayed_events_become_visible_later() {
    let config = KvRouterConfig {
        router_event_delay_ms: 5.0,
        ..KvRouterConfig::default()
    };
    let mut r = router(config, 2);
    r.on_kv_events(WorkerId(1), &stored(&[1]));
    let hashes = [h(1)];
    assert_eq!(
        r.costs(64, &hashes, SimTime::from_millis(4))[1].overlap_blocks,
        0
    );
    assert_eq!(
        r.costs(64, &hashes, SimTime::from_millis(5))[1].overlap_blocks,
        1
    );
}

#[test]
fn without_kv_events_routed_prompts_are_assumed_cached_for_a_ttl() {
    let config = KvRouterConfig {
        use_kv_events: false,
        router_ttl_secs: 1.0,
        ..KvRouterConfig::default()
    };
    let mut r = router(config, 2);
    let hashes = [h(1), h(2)];
    assert_eq!(
        r.route(&request(1, 128, &hashes), SimTime::ZERO),
        Routed::To(WorkerId(0))
    );
    r.on_finished(RequestId(1), SimTime::ZERO);
    assert_eq!(
        r.costs(128, &hashes, SimTime::from_millis(999))[0].overlap_blocks,
        2
    );
    assert_eq!(
        r.costs(128, &hashes, SimTime::from_millis(1000))[0].overlap_blocks,
        0
    );
}
