//! Shards: disjoint slices of a grid, so one sweep can be spread over a batch system.

use std::fmt;
use std::str::FromStr;

use super::error::SweepError;

/// The `index`-th of `count` disjoint slices of a grid (`--shard K/N`, `K` counted from 0 as
/// `SLURM_ARRAY_TASK_ID` and Kubernetes' `JOB_COMPLETION_INDEX` are).
///
/// Runs are dealt round-robin (run `i` belongs to shard `i mod N`), so shards get runs from
/// every region of the grid and take about as long as each other even when the cost of a
/// run grows along a parameter.
///
/// ```
/// use servesim_replay::sweep::Shard;
///
/// let shard: Shard = "1/4".parse()?;
/// assert_eq!(shard.runs(10).collect::<Vec<_>>(), [1, 5, 9]);
/// # Ok::<(), servesim_replay::sweep::SweepError>(())
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0 ≤ index < count`.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The whole grid as one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Run indices of this shard in a grid of `runs` runs, ascending.
    pub fn runs(self, runs: usize) -> impl Iterator<Item = usize> {
        (self.index..runs).step_by(self.count)
    }
}

impl FromStr for Shard {
    type Err = SweepError;

    fn from_str(text: &str) -> Result<Shard, SweepError> {
        let bad = |message: &str| SweepError::Shard(format!("`{text}`: {message}"));
        let (k, n) = text.split_once('/').ok_or_else(|| bad("expected K/N"))?;
        let (Ok(index), Ok(count)) = (k.trim().parse::<usize>(), n.trim().parse::<usize>()) else {
            return Err(bad("K and N must be whole numbers"));
        };
        if count == 0 {
            return Err(bad("N must be at least 1"));
        }
        if index >= count {
            return Err(bad(&format!(
                "K counts from 0, so it must be below N (0..={})",
                count - 1
            )));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_grid() {
        let runs = 31;
        let mut seen = vec![0u32; runs];
        for k in 0..4 {
            let shard: Shard = format!("{k}/4").parse().unwrap();
            for i in shard.runs(runs) {
                seen[i] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
        assert_eq!(Shard::ALL.runs(3).collect::<Vec<_>>(), [0, 1, 2]);
    }

    #[test]
    fn bad_shards_are_explained() {
        for (text, needle) in [
            ("4/4", "counts from 0"),
            ("1-4", "K/N"),
            ("a/4", "whole numbers"),
            ("0/0", "at least 1"),
        ] {
            let message = text
                .parse::<Shard>()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(message.contains(needle), "{text}: {message}");
        }
    }
}
