//! Interpolation of measured latency tables, following AIConfigurator's resolution chain:
//!
//! 1. **exact hit** — the measured value;
//! 2. **inside the data** — bracket and blend one axis at a time (linear in latency, or in
//!    √latency along a designated axis: context attention grows ~s² along the sequence); a
//!    bracket side with no data for the inner axes (a ragged, "staircase" table) is dropped
//!    and the survivor is rescaled by the speed-of-light ratio along that axis;
//! 3. **beyond the data** — hold a measured *utilisation* (speed of light ÷ latency) and
//!    return `SOL(query) / util`: a one-axis curve holds the median of its `k` boundary
//!    points; a multi-axis grid blends the four nearest measured points in log₂ space with
//!    tapered (modified Shepard) weights;
//! 4. **nothing to anchor on** — [`NoAnchor`]; a value is never invented.
//!
//! Speed-of-light functions are supplied by the caller (`sol(coords) → ms`).

/// A query that the table cannot answer (empty table, or no positive-utilisation anchor).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct NoAnchor;

/// A measured point: integer coordinates (outer axis first) and latency in ms.
pub(crate) type Point = (Vec<u32>, f64);

/// A speed-of-light function over a table's coordinates, in milliseconds.
pub(crate) type Sol<'a> = &'a dyn Fn(&[f64]) -> f64;

/// Median of a non-empty slice (sorted in place).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// `SOL(query) / util`, or [`NoAnchor`] when neither is positive.
fn hold(sol_query: f64, util: f64) -> Result<f64, NoAnchor> {
    if sol_query > 0.0 && util > 0.0 && util.is_finite() {
        Ok(sol_query / util)
    } else {
        Err(NoAnchor)
    }
}

/// A measured sweep along one axis: sorted, distinct `(x, latency)` points.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Curve {
    points: Vec<(f64, f64)>,
}

impl Curve {
    /// A curve from points in any order; of equal `x`, the first given wins.
    pub(crate) fn new(mut points: Vec<(f64, f64)>) -> Curve {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points.dedup_by(|later, first| later.0 == first.0);
        Curve { points }
    }

    /// Smallest and largest measured `x`.
    pub(crate) fn span(&self) -> Option<(f64, f64)> {
        Some((self.points.first()?.0, self.points.last()?.0))
    }

    /// Latency at `x`: the measured point, a linear blend of the two around it, or beyond
    /// the sweep `sol(x) / median(util of the k_tail boundary points)`.
    pub(crate) fn eval(
        &self,
        x: f64,
        k_tail: usize,
        sol: &dyn Fn(f64) -> f64,
    ) -> Result<f64, NoAnchor> {
        let p = &self.points;
        let (first, last) = self.span().ok_or(NoAnchor)?;
        let i = p.partition_point(|&(px, _)| px < x);
        if i < p.len() && p[i].0 == x {
            return Ok(p[i].1);
        }
        if x < first || x > last || p.len() < 2 {
            let tail = if x < first {
                &p[..k_tail.min(p.len())]
            } else {
                &p[p.len().saturating_sub(k_tail)..]
            };
            let mut utils: Vec<f64> = tail
                .iter()
                .filter_map(|&(px, lat)| {
                    let s = sol(px);
                    (lat > 0.0 && s > 0.0).then(|| s / lat)
                })
                .collect();
            if utils.is_empty() {
                return Err(NoAnchor);
            }
            return hold(sol(x), median(&mut utils));
        }
        let ((x0, y0), (x1, y1)) = (p[i - 1], p[i]);
        Ok(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
    }
}

/// One level of a nested table: sorted keys, each with its sub-table (or latency).
#[derive(Clone, Debug, PartialEq)]
enum Node {
    Branch(Vec<(u32, Node)>),
    Leaf(f64),
}

impl Node {
    /// Builds a level from points sorted by coordinates, without duplicates.
    fn build(points: &[Point], depth: usize) -> Node {
        match points {
            [(coords, lat)] if coords.len() == depth => Node::Leaf(*lat),
            _ => {
                let mut children = Vec::new();
                let mut rest = points;
                while let Some((first, _)) = rest.first() {
                    let key = first[depth];
                    let end = rest.partition_point(|(c, _)| c[depth] == key);
                    children.push((key, Node::build(&rest[..end], depth + 1)));
                    rest = &rest[end..];
                }
                Node::Branch(children)
            }
        }
    }
}

/// Why the bracket-and-blend could not answer from inside the data.
struct OutOfRange;

/// A measured table over several integer axes (outer to inner), e.g. attention latency by
/// `(heads, sequence, batch)`, that may be ragged: inner sweeps can stop earlier for larger
/// outer keys.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Grid {
    axes: usize,
    root: Node,
    /// Every point, for the beyond-the-data hold.
    points: Vec<Point>,
}

/// Neighbours whose utilisation a beyond-the-data query borrows.
const HOLD_NEIGHBOURS: usize = 4;

impl Grid {
    /// A grid over `axes` axes from `(coordinates, latency)` points in any order; of equal
    /// coordinates the first given wins (callers list the preferred source first).
    pub(crate) fn new(axes: usize, mut points: Vec<Point>) -> Grid {
        points.retain(|(c, _)| c.len() == axes);
        points.sort_by(|a, b| a.0.cmp(&b.0));
        points.dedup_by(|later, first| later.0 == first.0);
        let root = if points.is_empty() {
            Node::Branch(Vec::new())
        } else {
            Node::build(&points, 0)
        };
        Grid { axes, root, points }
    }

    /// Whether the grid holds no point.
    pub(crate) fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Latency at `coords`; `sqrt_axis` is blended in √latency space.
    pub(crate) fn query(
        &self,
        coords: &[f64],
        sqrt_axis: Option<usize>,
        sol: Sol<'_>,
    ) -> Result<f64, NoAnchor> {
        if self.is_empty() || coords.len() != self.axes {
            return Err(NoAnchor);
        }
        match self.interior(&self.root, coords, 0, sqrt_axis, sol) {
            Ok(lat) => Ok(lat),
            Err(OutOfRange) => self.hold(coords, sol),
        }
    }

    fn interior(
        &self,
        node: &Node,
        coords: &[f64],
        depth: usize,
        sqrt_axis: Option<usize>,
        sol: Sol<'_>,
    ) -> Result<f64, OutOfRange> {
        let children = match node {
            Node::Leaf(lat) => return Ok(*lat),
            Node::Branch(children) => children,
        };
        let c = coords[depth];
        let i = children.partition_point(|&(k, _)| f64::from(k) < c);
        if let Some((k, child)) = children.get(i)
            && f64::from(*k) == c
        {
            return self.interior(child, coords, depth + 1, sqrt_axis, sol);
        }
        if i == 0 || i == children.len() {
            return Err(OutOfRange);
        }
        let (lo, hi) = (&children[i - 1], &children[i]);
        let blend = (
            self.interior(&lo.1, coords, depth + 1, sqrt_axis, sol),
            self.interior(&hi.1, coords, depth + 1, sqrt_axis, sol),
        );
        match blend {
            (Ok(a), Ok(b)) => {
                let w = (c - f64::from(lo.0)) / f64::from(hi.0 - lo.0);
                if sqrt_axis == Some(depth) {
                    let (a, b) = (a.max(0.0).sqrt(), b.max(0.0).sqrt());
                    Ok((a + (b - a) * w).powi(2))
                } else {
                    Ok(a + (b - a) * w)
                }
            }
            (Ok(lat), Err(_)) => Ok(survivor(lat, lo.0, coords, depth, sol)),
            (Err(_), Ok(lat)) => Ok(survivor(lat, hi.0, coords, depth, sol)),
            (Err(e), Err(_)) => Err(e),
        }
    }

    /// Beyond the data: one axis holds its boundary point's utilisation; several axes blend
    /// the utilisation of the nearest points in log₂ space.
    fn hold(&self, coords: &[f64], sol: Sol<'_>) -> Result<f64, NoAnchor> {
        if self.axes == 1 {
            let curve = Curve::new(
                self.points
                    .iter()
                    .map(|(c, lat)| (f64::from(c[0]), *lat))
                    .collect(),
            );
            return curve.eval(coords[0], 1, &|x| sol(&[x]));
        }
        let log = |v: f64| v.max(1e-12).log2();
        let query: Vec<f64> = coords.iter().map(|&v| log(v)).collect();
        let mut ranked: Vec<(f64, usize)> = self
            .points
            .iter()
            .enumerate()
            .map(|(i, (c, _))| {
                let d2: f64 = c
                    .iter()
                    .zip(&query)
                    .map(|(&v, q)| (log(f64::from(v)) - q).powi(2))
                    .sum();
                (d2.sqrt(), i)
            })
            .collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut anchors: Vec<(f64, f64)> = Vec::with_capacity(HOLD_NEIGHBOURS);
        let mut radius = f64::INFINITY;
        for (d, i) in ranked {
            let (c, lat) = &self.points[i];
            let at: Vec<f64> = c.iter().map(|&v| f64::from(v)).collect();
            let s = sol(&at);
            if !(lat.is_finite() && *lat > 0.0 && s.is_finite() && s > 0.0) {
                continue;
            }
            if anchors.len() == HOLD_NEIGHBOURS {
                radius = d;
                break;
            }
            anchors.push((d, s / lat));
        }
        if anchors.is_empty() {
            return Err(NoAnchor);
        }
        let weight = |d: f64| {
            if radius.is_infinite() {
                1.0 / (d * d + 1e-12)
            } else {
                ((radius - d).max(0.0) / (radius * d + 1e-12)).powi(2)
            }
        };
        let mut weights: Vec<f64> = anchors.iter().map(|&(d, _)| weight(d)).collect();
        if weights.iter().sum::<f64>() <= 0.0 {
            weights.fill(1.0);
        }
        let total: f64 = weights.iter().sum();
        let util = anchors
            .iter()
            .zip(&weights)
            .map(|(&(_, u), w)| u * w)
            .sum::<f64>()
            / total;
        hold(sol(coords), util)
    }
}

/// The one bracket side with data: its latency at key `k`, rescaled along this axis by
/// `SOL(query) / SOL(query with this axis at k)` (its utilisation held across the gap).
fn survivor(lat: f64, k: u32, coords: &[f64], depth: usize, sol: Sol<'_>) -> f64 {
    let mut snapped = coords.to_vec();
    snapped[depth] = f64::from(k);
    let (q, s) = (sol(coords), sol(&snapped));
    if q.is_finite() && s.is_finite() && q > 0.0 && s > 0.0 {
        lat * q / s
    } else {
        lat
    }
}

/// A table read that load-time checks make infallible; should it fail all the same, the
/// speed of light (the floor every measurement is raised to) stands in.
pub(super) fn or_floor(result: Result<f64, NoAnchor>, floor: impl FnOnce() -> f64) -> f64 {
    result.unwrap_or_else(|_| floor())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
    }

    /// Attention-like latency `n · b · s²` on a staircase: long sequences stop early in batch.
    fn attn(c: &[f64]) -> f64 {
        1e-6 * c[0] * c[2] * c[1] * c[1]
    }

    fn staircase() -> Grid {
        let rows: &[(u32, &[u32])] = &[
            (512, &[1, 2, 4, 8]),
            (1024, &[1, 2, 4, 8]),
            (2048, &[1, 2, 4]),
            (4096, &[1, 2]),
        ];
        let mut points = Vec::new();
        for n in [8u32, 16] {
            for &(s, batches) in rows {
                for &b in batches {
                    points.push((
                        vec![n, s, b],
                        attn(&[f64::from(n), f64::from(s), f64::from(b)]),
                    ));
                }
            }
        }
        Grid::new(3, points)
    }

    #[test]
    fn curve_hits_blends_and_holds_utilisation() {
        let c = Curve::new(vec![(4.0, 4.0), (1.0, 2.0), (2.0, 2.0), (1.0, 99.0)]);
        close(c.eval(1.0, 1, &|x| x).unwrap(), 2.0); // first of the duplicates wins
        close(c.eval(3.0, 1, &|x| x).unwrap(), 3.0);
        // Beyond: util at x = 4 is 4/4 = 1, so latency = SOL(8) = 8.
        close(c.eval(8.0, 1, &|x| x).unwrap(), 8.0);
        // k_tail 3 above: utils 1/2, 2/2, 4/4 → median 1.
        close(c.eval(16.0, 3, &|x| x).unwrap(), 16.0);
        // Below the sweep with k_tail 1: util at 1 is 1/2 → SOL(0.5)/0.5 = 1.
        close(c.eval(0.5, 1, &|x| x).unwrap(), 1.0);
        assert_eq!(Curve::new(Vec::new()).eval(1.0, 1, &|x| x), Err(NoAnchor));
        assert_eq!(c.eval(8.0, 1, &|_| 0.0), Err(NoAnchor));
    }

    #[test]
    fn grid_exact_and_sqrt_blend_along_the_sequence() {
        let g = staircase();
        close(
            g.query(&[8.0, 2048.0, 4.0], Some(1), &attn).unwrap(),
            attn(&[8.0, 2048.0, 4.0]),
        );
        // √latency is linear in s: the blend is exact for s².
        close(
            g.query(&[8.0, 1536.0, 2.0], Some(1), &attn).unwrap(),
            attn(&[8.0, 1536.0, 2.0]),
        );
        // Linear along the batch axis (no transform there).
        close(
            g.query(&[8.0, 1024.0, 3.0], Some(1), &attn).unwrap(),
            attn(&[8.0, 1024.0, 3.0]),
        );
        // Heads 12 between 8 and 16: linear.
        close(
            g.query(&[12.0, 1024.0, 2.0], Some(1), &attn).unwrap(),
            attn(&[12.0, 1024.0, 2.0]),
        );
        // Without the transform the s-blend overshoots s².
        assert!(
            g.query(&[8.0, 1536.0, 2.0], None, &attn).unwrap() > attn(&[8.0, 1536.0, 2.0]) * 1.05
        );
    }

    #[test]
    fn ragged_bracket_keeps_the_survivor_scaled_by_sol() {
        // s = 1536 at batch 8: the 2048 row stops at batch 4, the 1024 row survives and is
        // rescaled by SOL(1536)/SOL(1024) (exact here: util is 1 everywhere).
        let g = staircase();
        close(
            g.query(&[8.0, 1536.0, 8.0], Some(1), &attn).unwrap(),
            attn(&[8.0, 1536.0, 8.0]),
        );
    }

    #[test]
    fn beyond_the_grid_holds_utilisation() {
        let g = staircase();
        close(
            g.query(&[8.0, 8192.0, 2.0], Some(1), &attn).unwrap(),
            attn(&[8.0, 8192.0, 2.0]),
        );
        close(
            g.query(&[64.0, 4096.0, 64.0], Some(1), &attn).unwrap(),
            attn(&[64.0, 4096.0, 64.0]),
        );
        // Half the utilisation everywhere → twice the speed-of-light time.
        let half = |c: &[f64]| attn(c) / 2.0;
        close(
            g.query(&[8.0, 8192.0, 2.0], Some(1), &half).unwrap(),
            attn(&[8.0, 8192.0, 2.0]),
        );
        assert_eq!(
            Grid::new(3, Vec::new()).query(&[1.0, 1.0, 1.0], None, &attn),
            Err(NoAnchor)
        );
    }

    #[test]
    fn hold_weights_taper_to_zero_at_the_support_radius() {
        // Query (64, 32, 1): one point at log-distance 1, four tied at √2 = the support
        // radius, which weigh nothing; the answer keeps the nearest point's utilisation.
        let points = vec![
            (vec![64, 32, 2], 1.0),
            (vec![64, 16, 2], 1.1),
            (vec![64, 64, 2], 1.3),
            (vec![32, 32, 2], 1.5),
            (vec![128, 32, 2], 1.7),
            (vec![64, 32, 4], 2.0),
        ];
        let g = Grid::new(3, points);
        close(g.query(&[64.0, 32.0, 1.0], None, &|_| 1.0).unwrap(), 1.0);
    }

    #[test]
    fn one_axis_grid_is_a_curve_with_a_single_boundary_point() {
        let g = Grid::new(
            1,
            vec![(vec![128], 0.004), (vec![256], 0.004), (vec![1024], 0.008)],
        );
        close(
            g.query(&[512.0], None, &|c| c[0]).unwrap(),
            0.004 + 0.004 * 256.0 / 768.0,
        );
        close(g.query(&[4096.0], None, &|c| c[0]).unwrap(), 0.032);
    }
}
