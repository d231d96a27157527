//! Seeded synthetic workloads.
//!
//! * [`SyntheticSpec`]: sessions of one or more turns with length distributions, an arrival
//!   process, shared-prefix groups and inter-turn delays. Multi-turn context really
//!   accumulates: turn *k*'s prompt is turn *k−1*'s prompt, its generated output, and a new
//!   input (the reference re-draws independent prompts per turn; `accumulate: false` keeps
//!   that behaviour).
//! * [`RateTraceSpec`]: single-turn traces whose request rate follows a shape over time
//!   (sinusoid — the `sin_synth` generator of the planner benchmark —, step, spike, ramp,
//!   constant Poisson), with a time-varying mix of two ISL/OSL pairs.
//!
//! The same spec and seed always give the same workload.

mod dist;
mod rate;

pub use dist::{ArrivalGaps, ArrivalProcess, DelayDist, LengthDist};
pub use rate::{LengthMix, RateShape, RateTraceSpec, RatioShape};

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use crate::error::TraceError;
use crate::time::SimTime;
use crate::workload::{Content, NodeId, NodeSpec, Workload, WorkloadBuilder};

/// Namespace of shared-prefix block ids: `SHARED_NS | group << 32 | index`.
const SHARED_NS: u64 = 0xD00D_0000_0000_0000;
/// First id of blocks unique to one request.
const UNIQUE_BASE: u64 = 0x4000_0000_0000_0000;

/// Shared system-prompt style prefixes: each session joins one of `groups` groups, and the
/// first `round(blocks · ratio)` blocks of its first prompt are that group's blocks.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PrefixSharing {
    /// Share of each first prompt's blocks that come from the group prefix, in `[0, 1]`.
    pub ratio: f64,
    /// Number of distinct prefixes (0 with a positive ratio means one shared prefix).
    pub groups: u32,
}

impl PrefixSharing {
    fn validate(&self) -> Result<(), TraceError> {
        if (0.0..=1.0).contains(&self.ratio) {
            Ok(())
        } else {
            Err(TraceError::Spec(format!(
                "shared prefix ratio must be in [0, 1], got {}",
                self.ratio
            )))
        }
    }

    fn draw_group(&self, rng: &mut impl Rng) -> u32 {
        if self.ratio > 0.0 && self.groups > 1 {
            rng.random_range(0..self.groups)
        } else {
            0
        }
    }
}

/// Mints block ids for generated prompts.
#[derive(Debug)]
struct IdMinter {
    block_size: u32,
    next_unique: u64,
}

impl IdMinter {
    fn new(block_size: u32) -> Self {
        IdMinter {
            block_size: block_size.max(1),
            next_unique: UNIQUE_BASE,
        }
    }

    /// Fills `out` with the ids of a `tokens`-long prompt: the group's shared blocks first,
    /// then blocks no other request has.
    fn prompt(&mut self, tokens: u32, sharing: &PrefixSharing, group: u32, out: &mut Vec<u64>) {
        out.clear();
        let blocks = tokens.div_ceil(self.block_size);
        let shared = ((f64::from(blocks) * sharing.ratio).round() as u32).min(blocks);
        out.extend((0..shared).map(|i| SHARED_NS | (u64::from(group) << 32) | u64::from(i)));
        for _ in shared..blocks {
            out.push(self.next_unique);
            self.next_unique += 1;
        }
    }
}

/// A synthetic multi-turn workload.
///
/// ```
/// use servesim_trace::synth::{ArrivalProcess, LengthDist, SyntheticSpec};
/// let spec = SyntheticSpec {
///     sessions: 10,
///     turns_per_session: 3,
///     input: LengthDist::Fixed(1000),
///     output: LengthDist::Fixed(100),
///     arrival: ArrivalProcess::Poisson(2.0),
///     ..SyntheticSpec::default()
/// };
/// let workload = spec.generate()?;
/// assert_eq!(workload.len(), 30);
/// // Turn 2's prompt holds turn 1's prompt and output plus a new input.
/// assert_eq!(workload.nodes()[1].input_tokens, 1000 + 100 + 1000);
/// # Ok::<(), servesim_trace::TraceError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticSpec {
    /// Number of sessions (`--request-count`).
    pub sessions: u32,
    /// Turns per session (`--turns-per-session`).
    pub turns_per_session: u32,
    /// Prompt length of a first turn (and of the new input of later turns, unless
    /// `followup_input` is set).
    pub input: LengthDist,
    /// New input of later turns; `None` uses `input`.
    pub followup_input: Option<LengthDist>,
    /// Output length.
    pub output: LengthDist,
    /// How session starts are spaced.
    pub arrival: ArrivalProcess,
    /// Shared prefixes across sessions.
    pub sharing: PrefixSharing,
    /// Wait between a turn's completion and the next turn.
    pub inter_turn_delay: DelayDist,
    /// Whether later turns extend the previous turn's context (true) or draw a fresh prompt
    /// sharing only the group prefix (false, the reference's behaviour).
    pub accumulate: bool,
    /// Tokens per generated block id (the trace block size of the result).
    pub block_size: u32,
    /// RNG seed.
    pub seed: u64,
}

impl Default for SyntheticSpec {
    fn default() -> Self {
        SyntheticSpec {
            sessions: 100,
            turns_per_session: 1,
            input: LengthDist::Fixed(1024),
            followup_input: None,
            output: LengthDist::Fixed(128),
            arrival: ArrivalProcess::Interval(1.0),
            sharing: PrefixSharing::default(),
            inter_turn_delay: DelayDist::None,
            accumulate: true,
            block_size: 64,
            seed: 42,
        }
    }
}

impl SyntheticSpec {
    /// Generates the workload.
    pub fn generate(&self) -> Result<Workload, TraceError> {
        if self.sessions == 0 || self.turns_per_session == 0 {
            return Err(TraceError::Spec(
                "request count and turns per session must be ≥ 1".to_owned(),
            ));
        }
        self.sharing.validate()?;
        let mut rng = Pcg64::seed_from_u64(self.seed);
        let mut gaps = self.arrival.gaps()?;
        let mut minter = IdMinter::new(self.block_size);
        let mut builder = WorkloadBuilder::new(self.block_size);
        let mut ids = Vec::new();
        let no_sharing = PrefixSharing::default();
        for session in 0..self.sessions {
            let start = gaps.next_arrival(&mut rng).ok_or_else(|| {
                TraceError::Spec(format!(
                    "session {session} would arrive beyond the simulated clock's range ({:.3e} ms)",
                    SimTime::LIMIT.as_millis_f64()
                ))
            })?;
            let group = self.sharing.draw_group(&mut rng);
            let mut previous: Option<NodeId> = None;
            for turn in 0..self.turns_per_session {
                let extend = self.accumulate && previous.is_some();
                let dist = match (&self.followup_input, previous) {
                    (Some(followup), Some(_)) => followup,
                    _ => &self.input,
                };
                let own_tokens = dist.sample(&mut rng);
                let output_tokens = self.output.sample(&mut rng);
                let sharing = if extend { &no_sharing } else { &self.sharing };
                minter.prompt(own_tokens, sharing, group, &mut ids);
                let delay = if previous.is_some() {
                    self.inter_turn_delay.sample(&mut rng).ok_or_else(|| {
                        TraceError::Spec(format!(
                            "an inter-turn delay is beyond the simulated clock's range ({:.3e} ms)",
                            SimTime::LIMIT.as_millis_f64()
                        ))
                    })?
                } else {
                    SimTime::ZERO
                };
                let deps: Vec<NodeId> = previous.into_iter().collect();
                let line = u32::try_from(builder.len() + 1).unwrap_or(u32::MAX);
                previous = Some(builder.push(NodeSpec {
                    session,
                    turn,
                    timestamp: previous.is_none().then_some(start),
                    delay,
                    deps: &deps,
                    base: if extend { previous } else { None },
                    content: Content::TraceBlocks(&ids),
                    own_tokens,
                    output_tokens,
                    line,
                })?);
            }
        }
        Ok(builder.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_workload() {
        let spec = SyntheticSpec {
            input: "lognormal:500,200".parse().unwrap(),
            arrival: ArrivalProcess::Poisson(5.0),
            turns_per_session: 2,
            inter_turn_delay: DelayDist::Exponential(100.0),
            ..SyntheticSpec::default()
        };
        assert_eq!(spec.generate().unwrap(), spec.generate().unwrap());
        let other = SyntheticSpec {
            seed: 43,
            ..spec.clone()
        };
        assert_ne!(spec.generate().unwrap(), other.generate().unwrap());
    }

    #[test]
    fn prefix_groups_share_leading_blocks() {
        let spec = SyntheticSpec {
            sessions: 50,
            input: LengthDist::Fixed(640),
            sharing: PrefixSharing {
                ratio: 0.5,
                groups: 2,
            },
            ..SyntheticSpec::default()
        };
        let w = spec.generate().unwrap();
        let mut firsts = std::collections::BTreeSet::new();
        for i in 0..w.len() {
            let ids = w.own_hash_ids(NodeId(i as u32));
            assert_eq!(ids.len(), 10);
            assert_eq!(ids[0] & SHARED_NS, SHARED_NS);
            assert_eq!(ids[4] & SHARED_NS, SHARED_NS);
            assert_eq!(ids[5] & SHARED_NS, UNIQUE_BASE & SHARED_NS);
            firsts.insert(ids[0]);
        }
        assert_eq!(firsts.len(), 2);
    }

    #[test]
    fn non_accumulating_turns_redraw_prompts() {
        let spec = SyntheticSpec {
            sessions: 1,
            turns_per_session: 3,
            accumulate: false,
            inter_turn_delay: DelayDist::Constant(10.0),
            ..SyntheticSpec::default()
        };
        let w = spec.generate().unwrap();
        assert_eq!(w.nodes()[2].input_tokens, 1024);
        assert_eq!(w.deps(NodeId(2)), &[NodeId(1)]);
        assert_eq!(w.nodes()[2].delay, SimTime::from_millis(10));
        assert_eq!(w.nodes()[2].timestamp, None);
    }

    #[test]
    fn invalid_specs_are_rejected() {
        assert!(
            SyntheticSpec {
                sessions: 0,
                ..SyntheticSpec::default()
            }
            .generate()
            .is_err()
        );
        let bad = SyntheticSpec {
            sharing: PrefixSharing {
                ratio: 1.5,
                groups: 1,
            },
            ..SyntheticSpec::default()
        };
        assert!(bad.generate().is_err());
    }
}
