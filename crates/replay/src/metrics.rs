//! Report metrics: AIPerf's definitions (which the reference has moved to), computed exactly.
//!
//! Time origin 0 is the first arrival (the end of the warm-up phase, whose requests are left
//! out). Per request: TTFT = first token − arrival; TTST = second − first token; TPOT = ITL
//! = (last − first) / (output tokens − 1); E2E = last token − arrival; output throughput per
//! user = (output tokens − 1) / (last − first). The pooled view the reference used to report
//! as ITL stays available: every inter-token gap of every request (zero gaps included) as
//! `token_gap`, and `1000 / gap` per gap as `token_gap_throughput_per_user`. Statistics:
//! mean, min, max, median, p75, p90, p95, p99 (nearest rank, `round((n − 1)·p/100)`) and the
//! population standard deviation.

use std::collections::BTreeMap;

use serde::Serialize;
use servesim_trace::SimTime;

use crate::distribution::{Distribution, STATS};
use crate::record::RequestRecord;
use crate::sample::Sample;

/// How many requests met the SLA targets.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct SlaAttainment {
    /// TTFT target, ms.
    pub ttft_target_ms: f64,
    /// ITL target, ms (compared with each request's mean inter-token latency, its TPOT).
    pub itl_target_ms: f64,
    /// Share of completed requests with TTFT ≤ target.
    pub ttft: f64,
    /// Share of completed requests with mean ITL ≤ target (single-token requests count as met).
    pub itl: f64,
    /// Share meeting both.
    pub both: f64,
    /// Requests meeting both targets per GPU-hour.
    pub goodput_per_gpu_hour: f64,
}

impl SlaAttainment {
    /// Whether a completed request met the TTFT target and the ITL target (its mean
    /// inter-token latency; a single-token request meets it); `None` if it did not complete.
    pub fn judge(record: &RequestRecord, ttft_ms: f64, itl_ms: f64) -> Option<(bool, bool)> {
        let (Some(first), Some(last)) = (record.first_token, record.completed) else {
            return None;
        };
        let ttft = first.saturating_sub(record.arrival).as_millis_f64() <= ttft_ms;
        let itl = record.output_tokens < 2
            || last.saturating_sub(first).as_millis_f64() / f64::from(record.output_tokens - 1)
                <= itl_ms;
        Some((ttft, itl))
    }

    /// Attainment of the completed requests among `records` over `gpu_hours`.
    pub fn of(
        records: &[RequestRecord],
        ttft_ms: f64,
        itl_ms: f64,
        gpu_hours: f64,
    ) -> SlaAttainment {
        let (mut done, mut ttft_ok, mut itl_ok, mut both) = (0u64, 0u64, 0u64, 0u64);
        for r in records {
            let Some((t, i)) = SlaAttainment::judge(r, ttft_ms, itl_ms) else {
                continue;
            };
            done += 1;
            ttft_ok += u64::from(t);
            itl_ok += u64::from(i);
            both += u64::from(t && i);
        }
        let share = |n: u64| {
            if done == 0 {
                0.0
            } else {
                n as f64 / done as f64
            }
        };
        SlaAttainment {
            ttft_target_ms: ttft_ms,
            itl_target_ms: itl_ms,
            ttft: share(ttft_ok),
            itl: share(itl_ok),
            both: share(both),
            goodput_per_gpu_hour: if gpu_hours > 0.0 {
                both as f64 / gpu_hours
            } else {
                0.0
            },
        }
    }
}

/// Every metric of a replay.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metrics {
    /// Requests in the workload.
    pub num_requests: u64,
    /// Requests that produced at least one token.
    pub completed_requests: u64,
    /// Sum of prompt lengths of all requests.
    pub total_input_tokens: u64,
    /// Sum of requested output lengths of all requests.
    pub total_output_tokens: u64,
    /// Time of the last token, in ms (from the end of the warm-up phase, if any).
    pub duration_ms: f64,
    /// Share of prompt tokens served from the prefix cache.
    pub prefix_cache_reused_ratio: f64,
    /// Time to first token (ms).
    pub ttft: Distribution,
    /// Time to second token (ms).
    pub ttst: Distribution,
    /// Time per output token (ms): `(last − first token) / (output − 1)` per request.
    pub tpot: Distribution,
    /// Inter-token latency as AIPerf defines it (ms): `(E2E − TTFT) / (output − 1)` per
    /// request, one sample per request with two or more tokens.
    pub itl: Distribution,
    /// Every inter-token gap of every request, pooled (ms): what the reference reported as
    /// ITL before AIPerf's definition.
    pub token_gap: Distribution,
    /// End-to-end latency (ms).
    pub e2e_latency: Distribution,
    /// Output tokens per second per user as AIPerf defines it: `(output − 1) / (last − first
    /// token)` per request.
    pub output_token_throughput_per_user: Distribution,
    /// `1000 / gap` for every inter-token gap > 0, pooled: the reference's former output
    /// token throughput per user.
    pub token_gap_throughput_per_user: Distribution,
}

/// Folds request records into [`Metrics`] one at a time, in bounded memory (see
/// [`Sample`]): what a finished collector's records, or a streaming replay's completed
/// requests, become.
#[derive(Clone, Debug, Default)]
pub struct MetricsAccumulator {
    requests: u64,
    completed: u64,
    input: u64,
    output: u64,
    reused: u64,
    duration_ms: f64,
    ttft: Sample,
    ttst: Sample,
    tpot: Sample,
    e2e: Sample,
    per_user: Sample,
}

impl MetricsAccumulator {
    /// Adds one request; `origin` is the start of the measured phase.
    pub fn add(&mut self, r: &RequestRecord, origin: SimTime) {
        // Differences in integer microseconds first, then milliseconds: no float noise.
        let span = |from: SimTime, to: SimTime| to.saturating_sub(from).as_millis_f64();
        self.requests += 1;
        self.input += u64::from(r.input_tokens);
        self.output += u64::from(r.output_tokens);
        self.reused += u64::from(r.reused_tokens.min(r.input_tokens));
        let Some(first) = r.first_token else { return };
        self.completed += 1;
        self.ttft.push(span(r.arrival, first));
        if let Some(second) = r.second_token {
            self.ttst.push(span(first, second));
        }
        if let Some(last) = r.completed {
            self.duration_ms = self.duration_ms.max(span(origin, last));
            self.e2e.push(span(r.arrival, last));
            if r.output_tokens > 1 {
                let decode = span(first, last);
                self.tpot.push(decode / f64::from(r.output_tokens - 1));
                if decode > 0.0 {
                    self.per_user
                        .push(f64::from(r.output_tokens - 1) / (decode / 1000.0));
                }
            }
        }
    }

    /// The metrics of the requests added so far, with the pooled inter-token `gaps`.
    pub fn finish(&self, gaps: &BTreeMap<SimTime, u64>) -> Metrics {
        let token_gap =
            Distribution::of_histogram(gaps.iter().map(|(g, c)| (g.as_millis_f64(), *c)));
        // 1000/gap reverses the order: walk the gaps from the largest.
        let per_user = Distribution::of_histogram(
            gaps.iter()
                .rev()
                .filter(|(g, _)| g.as_micros() > 0)
                .map(|(g, c)| (1000.0 / g.as_millis_f64(), *c)),
        );
        let tpot = self.tpot.distribution();
        Metrics {
            num_requests: self.requests,
            completed_requests: self.completed,
            total_input_tokens: self.input,
            total_output_tokens: self.output,
            duration_ms: self.duration_ms,
            prefix_cache_reused_ratio: if self.input == 0 {
                0.0
            } else {
                self.reused as f64 / self.input as f64
            },
            ttft: self.ttft.distribution(),
            ttst: self.ttst.distribution(),
            tpot,
            // AIPerf's ITL per request is the decode time over the gaps between its tokens.
            itl: tpot,
            token_gap,
            e2e_latency: self.e2e.distribution(),
            output_token_throughput_per_user: self.per_user.distribution(),
            token_gap_throughput_per_user: per_user,
        }
    }
}

impl Metrics {
    /// Seconds of simulated time the throughputs are divided by.
    fn duration_s(&self) -> f64 {
        self.duration_ms / 1000.0
    }

    fn rate(&self, count: u64) -> f64 {
        if self.duration_ms > 0.0 {
            count as f64 / self.duration_s()
        } else {
            0.0
        }
    }

    /// Completed requests per second.
    pub fn request_throughput_rps(&self) -> f64 {
        self.rate(self.completed_requests)
    }

    /// Input tokens per second.
    pub fn input_throughput_tok_s(&self) -> f64 {
        self.rate(self.total_input_tokens)
    }

    /// Output tokens per second.
    pub fn output_throughput_tok_s(&self) -> f64 {
        self.rate(self.total_output_tokens)
    }

    /// The report keys of the reference (`num_requests`, `mean_ttft_ms`, …) with their values;
    /// `wall_time_ms` is added by the caller.
    pub fn reference_keys(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        map.insert("num_requests".into(), self.num_requests.into());
        map.insert("completed_requests".into(), self.completed_requests.into());
        map.insert("total_input_tokens".into(), self.total_input_tokens.into());
        map.insert(
            "total_output_tokens".into(),
            self.total_output_tokens.into(),
        );
        let mut put = |key: String, value: f64| {
            let number = serde_json::Number::from_f64(value)
                .map_or(serde_json::Value::Null, serde_json::Value::Number);
            map.insert(key, number);
        };
        put("duration_ms".into(), self.duration_ms);
        put(
            "request_throughput_rps".into(),
            self.request_throughput_rps(),
        );
        put(
            "input_throughput_tok_s".into(),
            self.input_throughput_tok_s(),
        );
        put(
            "output_throughput_tok_s".into(),
            self.output_throughput_tok_s(),
        );
        put(
            "total_throughput_tok_s".into(),
            self.rate(self.total_input_tokens + self.total_output_tokens),
        );
        put(
            "prefix_cache_reused_ratio".into(),
            self.prefix_cache_reused_ratio,
        );
        let families = [
            ("ttft", "_ms", &self.ttft),
            ("ttst", "_ms", &self.ttst),
            ("tpot", "_ms", &self.tpot),
            ("itl", "_ms", &self.itl),
            ("token_gap", "_ms", &self.token_gap),
            ("e2e_latency", "_ms", &self.e2e_latency),
            (
                "output_token_throughput_per_user",
                "",
                &self.output_token_throughput_per_user,
            ),
            (
                "token_gap_throughput_per_user",
                "",
                &self.token_gap_throughput_per_user,
            ),
        ];
        for (name, unit, dist) in families {
            for stat in STATS {
                put(format!("{stat}_{name}{unit}"), dist.get(stat));
            }
        }
        map
    }
}
