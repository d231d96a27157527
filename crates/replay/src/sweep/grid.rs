//! Sweep grids: `name=start:stop:step` ranges and `name=a,b,c` lists, crossed in order.

use serde_json::Value;

use super::error::SweepError;

/// Most runs one grid may hold (a typo like `0:1e6:1` should fail fast, not run for days).
pub const MAX_RUNS: usize = 1_000_000;

/// One swept parameter and the values it takes, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    /// Parameter name as given (e.g. `startup_time`, `planner.ttft`, `num_workers`).
    pub name: String,
    /// Its values: numbers, booleans or strings.
    pub values: Vec<Value>,
}

impl ParamSpec {
    /// Parses `name=start:stop[:step]` (inclusive numeric range, step 1 by default) or
    /// `name=v1,v2,…` (each value a JSON literal when it is one — `4`, `0.5`, `true` —
    /// and a string otherwise).
    ///
    /// ```
    /// use servesim_replay::sweep::ParamSpec;
    ///
    /// let spec = ParamSpec::parse("startup_time=0:300:10")?;
    /// assert_eq!(spec.values.len(), 31);
    /// let spec = ParamSpec::parse("router_mode=round_robin,kv_router")?;
    /// assert_eq!(spec.values[1], "kv_router");
    /// # Ok::<(), servesim_replay::sweep::SweepError>(())
    /// ```
    pub fn parse(spec: &str) -> Result<ParamSpec, SweepError> {
        let bad = |message: String| SweepError::Param {
            spec: spec.to_owned(),
            message,
        };
        let (name, values) = spec
            .split_once('=')
            .ok_or_else(|| bad("expected NAME=START:STOP[:STEP] or NAME=V1,V2,…".to_owned()))?;
        let name = name.trim();
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !name_ok {
            return Err(bad(format!(
                "`{name}` is not a parameter name (letters, digits, `_`, `-`, `.`)"
            )));
        }
        let values = match numeric_range(values).map_err(bad)? {
            Some(range) => range,
            None => list(values).map_err(bad)?,
        };
        Ok(ParamSpec {
            name: name.to_owned(),
            values,
        })
    }
}

/// `start:stop[:step]` when every part is a number; `None` when the text is not a range.
fn numeric_range(text: &str) -> Result<Option<Vec<Value>>, String> {
    let parts: Vec<&str> = text.split(':').map(str::trim).collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.parse::<f64>().is_err()) {
        return Ok(None);
    }
    let step_text = parts.get(2).copied().unwrap_or("1");
    if let (Ok(start), Ok(stop), Ok(step)) = (
        parts[0].parse::<i64>(),
        parts[1].parse::<i64>(),
        step_text.parse::<i64>(),
    ) {
        if step <= 0 || stop < start {
            return Err("a range needs STEP > 0 and STOP ≥ START".to_owned());
        }
        // In i128: the span of two i64 bounds does not fit in an i64.
        let count = (i128::from(stop) - i128::from(start)) / i128::from(step) + 1;
        if count > MAX_RUNS as i128 {
            return Err(format!("{count} values (at most {MAX_RUNS})"));
        }
        // Every value lies in [start, stop], so it fits in an i64 again.
        let (start, step) = (i128::from(start), i128::from(step));
        return Ok(Some(
            (0..count)
                .map(|i| Value::from((start + i * step) as i64))
                .collect(),
        ));
    }
    let number = |t: &str| t.parse::<f64>().ok().filter(|v| v.is_finite());
    let (Some(start), Some(stop), Some(step)) =
        (number(parts[0]), number(parts[1]), number(step_text))
    else {
        return Err("range bounds must be finite numbers".to_owned());
    };
    if step <= 0.0 || stop < start {
        return Err("a range needs STEP > 0 and STOP ≥ START".to_owned());
    }
    // Values are rounded to the inputs' decimals so 0:1:0.1 gives 0.3, not 0.30000000000000004;
    // the stop is included when the steps land on it up to that rounding.
    let decimals = [parts[0], parts[1], step_text]
        .iter()
        .map(|p| p.split_once('.').map_or(0, |(_, d)| d.len()))
        .max()
        .unwrap_or(0)
        .min(12) as i32;
    let scale = 10f64.powi(decimals);
    let count = ((stop - start) / step + 1e-9).floor() + 1.0;
    if count > MAX_RUNS as f64 {
        return Err(format!("{count} values (at most {MAX_RUNS})"));
    }
    let values = (0..count as u64)
        .map(|i| ((start + i as f64 * step) * scale).round() / scale)
        .filter_map(|v| serde_json::Number::from_f64(v).map(Value::Number))
        .collect();
    Ok(Some(values))
}

/// `v1,v2,…`: JSON literals where they parse, strings otherwise; no empty or repeated value.
fn list(text: &str) -> Result<Vec<Value>, String> {
    let mut values = Vec::new();
    for item in text.split(',').map(str::trim) {
        if item.is_empty() {
            return Err("empty value in the list".to_owned());
        }
        let value = serde_json::from_str::<Value>(item).unwrap_or_else(|_| item.into());
        if values.contains(&value) {
            return Err(format!("value `{item}` is listed twice"));
        }
        values.push(value);
    }
    Ok(values)
}

/// The cross product of parameters: run `i` takes the `i`-th combination, the last parameter
/// varying fastest (like nested loops in the order the parameters were given).
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    params: Vec<ParamSpec>,
    runs: usize,
}

impl Grid {
    /// A grid over `params` (at least one; names distinct; at most [`MAX_RUNS`] runs).
    pub fn new(params: Vec<ParamSpec>) -> Result<Grid, SweepError> {
        if params.is_empty() {
            return Err(SweepError::Grid(
                "no parameter to sweep (give --param NAME=VALUES)".to_owned(),
            ));
        }
        for (i, p) in params.iter().enumerate() {
            if params[..i].iter().any(|q| q.name == p.name) {
                return Err(SweepError::Grid(format!(
                    "parameter `{}` is given twice",
                    p.name
                )));
            }
        }
        let runs = params
            .iter()
            .try_fold(1usize, |n, p| n.checked_mul(p.values.len()))
            .filter(|&n| n <= MAX_RUNS)
            .ok_or_else(|| SweepError::Grid(format!("more than {MAX_RUNS} runs")))?;
        Ok(Grid { params, runs })
    }

    /// The parameters, in the order given.
    pub fn params(&self) -> &[ParamSpec] {
        &self.params
    }

    /// Number of runs (the product of the value counts).
    pub fn runs(&self) -> usize {
        self.runs
    }

    /// The parameter values of run `index` (`< runs()`), in parameter order.
    pub fn point(&self, index: usize) -> Vec<(String, Value)> {
        let mut rest = index;
        let mut point: Vec<(String, Value)> = self
            .params
            .iter()
            .rev()
            .map(|p| {
                let value = p.values[rest % p.values.len()].clone();
                rest /= p.values.len();
                (p.name.clone(), value)
            })
            .collect();
        point.reverse();
        point
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(spec: &str) -> Vec<Value> {
        ParamSpec::parse(spec).map(|p| p.values).unwrap_or_default()
    }

    #[test]
    fn integer_ranges_are_inclusive() {
        let v = values("startup_time=0:300:10");
        assert_eq!(v.len(), 31);
        assert_eq!(v[0], 0);
        assert_eq!(v[30], 300);
        assert_eq!(values("n=1:4"), [1, 2, 3, 4].map(Value::from));
        assert_eq!(values("n=1:10:4"), [1, 5, 9].map(Value::from));
    }

    #[test]
    fn float_ranges_round_to_the_inputs_decimals() {
        let v = values("ratio=0:1:0.1");
        assert_eq!(v.len(), 11);
        assert_eq!(v[3], 0.3);
        assert_eq!(v[10], 1.0);
        assert_eq!(values("x=0.5:1.5:0.5"), [0.5, 1.0, 1.5].map(Value::from));
    }

    #[test]
    fn lists_take_json_literals_and_strings() {
        assert_eq!(values("num_workers=1,2,4,8"), [1, 2, 4, 8].map(Value::from));
        assert_eq!(
            values("router_mode=round_robin, kv_router"),
            ["round_robin", "kv_router"].map(Value::from)
        );
        assert_eq!(
            values("enable_prefix_caching=true,false"),
            [true, false].map(Value::from)
        );
        assert_eq!(values("single=7"), [Value::from(7)]);
    }

    #[test]
    fn bad_specs_are_explained() {
        for (spec, needle) in [
            ("startup_time", "NAME=START"),
            ("=1,2", "not a parameter name"),
            ("n=1:0", "STOP ≥ START"),
            ("n=0:10:0", "STEP > 0"),
            ("n=1,,2", "empty value"),
            ("n=1,1", "listed twice"),
            ("n=0:10000000", "at most"),
        ] {
            let message = ParamSpec::parse(spec)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(message.contains(needle), "{spec}: {message}");
            assert!(message.contains(spec), "{spec}: {message}");
        }
    }

    #[test]
    fn grid_points_vary_the_last_parameter_fastest() {
        let grid = Grid::new(vec![
            ParamSpec::parse("a=1,2").unwrap(),
            ParamSpec::parse("b=x,y,z").unwrap(),
        ])
        .unwrap();
        assert_eq!(grid.runs(), 6);
        let names: Vec<String> = (0..6)
            .map(|i| {
                grid.point(i)
                    .iter()
                    .map(|(_, v)| v.to_string())
                    .collect::<Vec<_>>()
                    .join("")
            })
            .collect();
        assert_eq!(
            names,
            ["1\"x\"", "1\"y\"", "1\"z\"", "2\"x\"", "2\"y\"", "2\"z\""]
        );
    }

    #[test]
    fn grids_reject_repeats_and_emptiness() {
        let a = ParamSpec::parse("a=1,2").unwrap();
        assert!(Grid::new(vec![a.clone(), a]).is_err());
        assert!(Grid::new(Vec::new()).is_err());
    }
}
