//! Weka agentic traces (SemiAnalysis AgentX / kv-cache-tester corpora): one JSON object per
//! recorded agent run ("play"), lowered to a request DAG.
//!
//! A play is `{"id", "block_size" (tokens per hash id, default 64), "hash_id_scope"
//! ("local": ids are private to the play, the default; "global": shared across plays),
//! "requests": [...]}`. An entry of `requests` is either a model call — `t` (start, seconds),
//! `in`, `out`, `hash_ids` (the whole prompt, `block_size` tokens each), optional `api_time`
//! (recorded duration, seconds), `type` `"n"`/`"s"`/absent — or a subagent — `"type":
//! "subagent"`, `t`, `status` (`completed` or `async_launched`), optional `duration_ms`, and
//! its own `requests` (nested subagents allowed). Other fields (`model`, `think_time`,
//! `ttft`, …) are read by nothing.
//!
//! Lowering, per level (the play's `requests`, or a subagent's):
//! - calls are packed into streams in `t` order: a call continues the first stream whose
//!   last call had ended (`t + api_time`) by its start, else it opens a stream;
//! - a call waits for the previous call of its stream; a new stream's first call waits for
//!   the call of the enclosing levels that ended last before it started (none: it arrives at
//!   its `t`);
//! - a `completed` subagent joins: the first later call of its parent level also waits for
//!   the last call of each of the subagent's streams, once the subagent's recorded end
//!   (`t + duration_ms`, else its calls' last end) has passed; `async_launched` ones never do;
//! - each call's delay is the recorded gap between its start and the latest end of what it
//!   waits for, so slower simulated calls push later ones back, as in a live agent.
//!
//! Subagent call times are absolute when none precedes the subagent's `t`, and relative to
//! it otherwise (corpora use both). Every call carries its full prompt: KV reuse comes from
//! shared `hash_ids` prefixes. Files are JSONL (one play per line); a `.json` file holds one
//! play; a directory holds such files, read in file-name order.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::{Map, Value};

use super::json_row::{self, describe, positive_u32};
use super::lines::{LineReader, SkippedLines};
use crate::error::{LineError, TraceError};
use crate::hash::content_id;
use crate::time::SimTime;
use crate::workload::{Content, NodeId, NodeSpec, Workload, WorkloadBuilder};

/// Tokens per hash id when a play does not say.
const DEFAULT_BLOCK_SIZE: u32 = 64;

/// Namespace of play-local hash ids.
const LOCAL_NS: u64 = 0x3E4A_0000;

/// How deep subagents may nest (serde_json already bounds the document's depth).
const MAX_DEPTH: usize = 32;

/// Reads a Weka file or directory into one workload.
pub(super) fn read_path(
    path: &Path,
    skip_invalid: bool,
) -> Result<(Workload, SkippedLines), TraceError> {
    let mut lowering = Lowering::default();
    let mut skipped = SkippedLines::default();
    if path.is_dir() {
        let mut files = list_trace_files(path)?;
        files.sort();
        for file in files {
            read_file(&file, skip_invalid, &mut lowering, &mut skipped)?;
        }
    } else {
        read_file(path, skip_invalid, &mut lowering, &mut skipped)?;
    }
    Ok((lowering.finish(), skipped))
}

/// Reads JSONL (one play per line) from any reader.
pub(super) fn read<R: BufRead>(lines: &mut LineReader<R>) -> Result<Workload, TraceError> {
    let mut lowering = Lowering::default();
    lines.for_each(|line, text| lowering.play(line, text))?;
    Ok(lowering.finish())
}

fn list_trace_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, TraceError> {
    let io = |source| TraceError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let is_trace = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("json") || e.eq_ignore_ascii_case("jsonl"));
        if is_trace && path.is_file() {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(TraceError::File {
            path: dir.display().to_string(),
            message: "directory holds no .json or .jsonl file".to_owned(),
        });
    }
    Ok(files)
}

fn read_file(
    path: &Path,
    skip_invalid: bool,
    lowering: &mut Lowering,
    skipped: &mut SkippedLines,
) -> Result<(), TraceError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|source| TraceError::Io {
        path: name.clone(),
        source,
    })?;
    let mut lines = LineReader::new(BufReader::with_capacity(1 << 16, file), &name, skip_invalid);
    let single_play = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if single_play {
        lines.whole_document(|line, text| lowering.play(line, text))?;
    } else {
        lines.for_each(|line, text| lowering.play(line, text))?;
    }
    skipped.absorb(lines.skipped);
    Ok(())
}

/// What one placed call leaves for the calls after it.
#[derive(Clone, Copy, Debug)]
struct Placed {
    node: NodeId,
    /// Recorded end: `t + api_time`.
    end: SimTime,
}

/// One model call, validated.
struct Call {
    t: SimTime,
    end: SimTime,
    input: u32,
    output: u32,
    hash_ids: Vec<u64>,
}

/// One entry of a level, validated, in `t` order.
enum Entry {
    Call(Call),
    Subagent {
        t: SimTime,
        joins: bool,
        duration: Option<SimTime>,
        entries: Vec<Entry>,
    },
}

impl Entry {
    fn t(&self) -> SimTime {
        match self {
            Entry::Call(call) => call.t,
            Entry::Subagent { t, .. } => *t,
        }
    }
}

/// A completed subagent waiting for the next call of its parent level.
struct Join {
    end: SimTime,
    finals: Vec<Placed>,
}

/// The workload being built, across plays and files.
#[derive(Default)]
struct Lowering {
    builder: Option<WorkloadBuilder>,
    /// The block size of the first play and the line it came from.
    block_size: Option<(u32, u64)>,
    sessions: u32,
}

impl Lowering {
    fn finish(self) -> Workload {
        self.builder
            .unwrap_or_else(|| WorkloadBuilder::new(DEFAULT_BLOCK_SIZE))
            .finish()
    }

    /// Validates and lowers one play; nothing of an invalid play is kept.
    fn play(&mut self, line: u64, text: &str) -> Result<(), LineError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| LineError::line(line, format!("invalid JSON: {e}")))?;
        let Value::Object(play) = value else {
            return Err(LineError::line(
                line,
                format!(
                    "expected a JSON object (one play), got {}",
                    describe(&value)
                ),
            ));
        };
        let block = match play.get("block_size") {
            None | Some(Value::Null) => DEFAULT_BLOCK_SIZE,
            Some(v) => positive_u32(line, "block_size", v)?,
        };
        if let Some((first, first_line)) = self.block_size
            && first != block
        {
            return Err(LineError::field(
                line,
                "block_size",
                format!(
                    "{block} differs from the block size {first} of line {first_line}; one workload has one block size"
                ),
            ));
        }
        let namespace = match play.get("hash_id_scope") {
            None | Some(Value::Null) => Some(LOCAL_NS + u64::from(self.sessions)),
            Some(Value::String(s)) if s == "local" => Some(LOCAL_NS + u64::from(self.sessions)),
            Some(Value::String(s)) if s == "global" => None,
            Some(v) => {
                return Err(LineError::field(
                    line,
                    "hash_id_scope",
                    format!("must be \"local\" or \"global\", got {}", describe(v)),
                ));
            }
        };
        let requests = play
            .get("requests")
            .ok_or_else(|| LineError::field(line, "requests", "is required but missing"))?;
        let reader = EntryReader {
            line,
            block,
            namespace,
        };
        let entries = reader.level(requests, "requests", None, 0)?;
        if entries.is_empty() {
            return Err(LineError::field(
                line,
                "requests",
                "the play has no request",
            ));
        }
        let builder = self
            .builder
            .get_or_insert_with(|| WorkloadBuilder::new(block));
        let mut play_builder = PlayBuilder {
            builder,
            session: self.sessions,
            turn: 0,
            line,
        };
        play_builder
            .level(&entries, &[])
            .map_err(|e| LineError::line(line, e.to_string()))?;
        self.block_size.get_or_insert((block, line));
        self.sessions += 1;
        Ok(())
    }
}

/// Validates the entries of one play.
struct EntryReader {
    line: u64,
    block: u32,
    /// `Some(ns)`: play-local ids, mixed with `ns`; `None`: global ids, kept as they are.
    namespace: Option<u64>,
}

impl EntryReader {
    fn error(&self, path: &str, field: &'static str, message: impl std::fmt::Display) -> LineError {
        LineError::field(self.line, field, format!("{path}: {message}"))
    }

    /// The entries of a `requests` array, sorted by `t` (stably); `spawn` is the start of
    /// the enclosing subagent, against which relative times are detected and made absolute.
    fn level(
        &self,
        value: &Value,
        path: &str,
        spawn: Option<SimTime>,
        depth: usize,
    ) -> Result<Vec<Entry>, LineError> {
        if depth > MAX_DEPTH {
            return Err(self.error(
                path,
                "requests",
                format!("subagents nest deeper than {MAX_DEPTH}"),
            ));
        }
        let Value::Array(items) = value else {
            return Err(self.error(
                path,
                "requests",
                format!("must be an array, got {}", describe(value)),
            ));
        };
        let mut entries = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            entries.push(self.entry(item, &format!("{path}[{i}]"), depth)?);
        }
        if let Some(spawn) = spawn
            && entries.iter().any(|e| e.t() < spawn)
        {
            for entry in &mut entries {
                shift(entry, spawn);
            }
        }
        entries.sort_by_key(Entry::t);
        Ok(entries)
    }

    fn entry(&self, value: &Value, path: &str, depth: usize) -> Result<Entry, LineError> {
        let Value::Object(entry) = value else {
            return Err(LineError::line(
                self.line,
                format!("{path}: expected an object, got {}", describe(value)),
            ));
        };
        let t = self
            .time(entry, path, "t", json_row::seconds)?
            .ok_or_else(|| self.error(path, "t", "is required but missing"))?;
        match entry.get("type") {
            Some(Value::String(kind)) if kind == "subagent" => self.subagent(entry, path, t, depth),
            None | Some(Value::Null) => self.call(entry, path, t),
            Some(Value::String(kind)) if kind == "n" || kind == "s" => self.call(entry, path, t),
            Some(other) => Err(self.error(
                path,
                "type",
                format!(
                    "must be \"n\", \"s\" or \"subagent\", got {}",
                    describe(other)
                ),
            )),
        }
    }

    fn call(&self, entry: &Map<String, Value>, path: &str, t: SimTime) -> Result<Entry, LineError> {
        let count = |field: &'static str| -> Result<u32, LineError> {
            let value = entry
                .get(field)
                .ok_or_else(|| self.error(path, field, "is required but missing"))?;
            positive_u32(self.line, field, value).map_err(|e| self.error(path, field, e.message))
        };
        let input = count("in")?;
        let output = count("out")?;
        let ids = entry
            .get("hash_ids")
            .ok_or_else(|| self.error(path, "hash_ids", "is required but missing"))?;
        let mut hash_ids = Vec::new();
        json_row::hash_ids(self.line, ids, &mut hash_ids)
            .map_err(|e| self.error(path, "hash_ids", e.message))?;
        let capacity = hash_ids.len() as u64 * u64::from(self.block);
        if u64::from(input) > capacity {
            return Err(self.error(
                path,
                "in",
                format!(
                    "{input} tokens exceed the {capacity} covered by {} hash_ids × block_size {}",
                    hash_ids.len(),
                    self.block
                ),
            ));
        }
        if let Some(ns) = self.namespace {
            for id in &mut hash_ids {
                *id = content_id(ns, *id);
            }
        }
        let api_time = self
            .time(entry, path, "api_time", json_row::seconds)?
            .unwrap_or_default();
        Ok(Entry::Call(Call {
            t,
            end: t + api_time,
            input,
            output,
            hash_ids,
        }))
    }

    fn subagent(
        &self,
        entry: &Map<String, Value>,
        path: &str,
        t: SimTime,
        depth: usize,
    ) -> Result<Entry, LineError> {
        let joins = match entry.get("status") {
            Some(Value::String(s)) if s == "completed" => true,
            Some(Value::String(s)) if s == "async_launched" => false,
            Some(other) => {
                return Err(self.error(
                    path,
                    "status",
                    format!(
                        "must be \"completed\" or \"async_launched\", got {}",
                        describe(other)
                    ),
                ));
            }
            None => return Err(self.error(path, "status", "is required but missing")),
        };
        let duration = self.time(entry, path, "duration_ms", json_row::millis)?;
        let inner = entry
            .get("requests")
            .ok_or_else(|| self.error(path, "requests", "is required but missing"))?;
        let entries = self.level(inner, &format!("{path}.requests"), Some(t), depth + 1)?;
        Ok(Entry::Subagent {
            t,
            joins,
            duration,
            entries,
        })
    }

    /// An optional time (`null` = absent) read by `parse` ([`json_row::seconds`] or
    /// [`json_row::millis`]), its error placed at `path`.
    fn time(
        &self,
        entry: &Map<String, Value>,
        path: &str,
        field: &'static str,
        parse: fn(u64, &'static str, &Value) -> Result<SimTime, LineError>,
    ) -> Result<Option<SimTime>, LineError> {
        match entry.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => parse(self.line, field, v)
                .map(Some)
                .map_err(|e| self.error(path, field, e.message)),
        }
    }
}

/// Makes a relative entry absolute.
fn shift(entry: &mut Entry, by: SimTime) {
    match entry {
        Entry::Call(call) => {
            call.t += by;
            call.end += by;
        }
        Entry::Subagent { t, entries, .. } => {
            *t += by;
            for inner in entries {
                shift(inner, by);
            }
        }
    }
}

/// Lowers the validated entries of one play into workload nodes.
struct PlayBuilder<'b> {
    builder: &'b mut WorkloadBuilder,
    session: u32,
    turn: u32,
    line: u64,
}

impl PlayBuilder<'_> {
    /// Lowers one level; `outer` holds the calls of the enclosing levels placed so far.
    /// Returns the last call of each of the level's streams.
    fn level(&mut self, entries: &[Entry], outer: &[Placed]) -> Result<Vec<Placed>, TraceError> {
        let mut streams: Vec<Placed> = Vec::new();
        let mut placed: Vec<Placed> = outer.to_vec();
        let mut joins: Vec<Join> = Vec::new();
        let mut deps: Vec<Placed> = Vec::new();
        for entry in entries {
            match entry {
                Entry::Call(call) => {
                    deps.clear();
                    let stream = streams.iter().position(|s| s.end <= call.t);
                    match stream {
                        Some(stream) => deps.push(streams[stream]),
                        None => deps.extend(latest_before(&placed, call.t)),
                    }
                    joins.retain(|join| {
                        let due = join.end <= call.t;
                        if due {
                            deps.extend_from_slice(&join.finals);
                        }
                        !due
                    });
                    let node = self.push(call, &deps)?;
                    let done = Placed {
                        node,
                        end: call.end,
                    };
                    match stream {
                        Some(stream) => streams[stream] = done,
                        None => streams.push(done),
                    }
                    placed.push(done);
                }
                Entry::Subagent {
                    t,
                    joins: joined,
                    duration,
                    entries,
                } => {
                    let finals = self.level(entries, &placed)?;
                    if *joined && !finals.is_empty() {
                        let end = match duration {
                            Some(d) => *t + *d,
                            None => finals.iter().map(|f| f.end).max().unwrap_or(*t),
                        };
                        joins.push(Join { end, finals });
                    }
                }
            }
        }
        Ok(streams)
    }

    fn push(&mut self, call: &Call, deps: &[Placed]) -> Result<NodeId, TraceError> {
        let ids: Vec<NodeId> = deps.iter().map(|d| d.node).collect();
        let last_end = deps.iter().map(|d| d.end).max();
        let node = self.builder.push(NodeSpec {
            session: self.session,
            turn: self.turn,
            timestamp: Some(call.t),
            delay: last_end.map_or(SimTime::ZERO, |end| call.t.saturating_sub(end)),
            deps: &ids,
            base: None,
            content: Content::TraceBlocks(&call.hash_ids),
            own_tokens: call.input,
            output_tokens: call.output,
            line: u32::try_from(self.line).unwrap_or(u32::MAX),
        })?;
        self.turn += 1;
        Ok(node)
    }
}

/// The placed call that ended last by `t` (the earliest placed on ties).
fn latest_before(placed: &[Placed], t: SimTime) -> Option<Placed> {
    placed
        .iter()
        .filter(|p| p.end <= t)
        .fold(None, |best: Option<Placed>, p| match best {
            Some(b) if b.end >= p.end => Some(b),
            _ => Some(*p),
        })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::format::{ReadOptions, TraceFormat, parse_trace, read_trace};
    use crate::time::SimTime;
    use crate::workload::{NodeId, Workload};

    fn options(skip_invalid: bool) -> ReadOptions {
        ReadOptions {
            format: TraceFormat::Weka,
            trace_block_size: 512,
            skip_invalid,
        }
    }

    fn fixture() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/weka_agentic.jsonl")
    }

    fn parse(text: &str) -> Result<Workload, String> {
        parse_trace(text.as_bytes(), "w.jsonl", &options(false))
            .map(|t| t.workload)
            .map_err(|e| e.to_string())
    }

    fn deps(w: &Workload, id: u32) -> Vec<u32> {
        w.deps(NodeId(id)).iter().map(|d| d.0).collect()
    }

    #[test]
    fn fixture_lowers_to_the_documented_dag() {
        let w = read_trace(&fixture(), &options(false)).unwrap().workload;
        assert_eq!(
            (w.len(), w.num_sessions(), w.trace_block_size()),
            (11, 2, 64)
        );
        // Play a: r0, r1, subagent calls s0 and s1 (relative times), r2, the parallel r3,
        // the background call b0, and r4, which also joins the completed subagent.
        let expected: [(&[u32], u64); 8] = [
            (&[], 0),
            (&[0], 1_000),
            (&[1], 500),
            (&[2], 500),
            (&[1], 1_000),
            (&[1], 1_300),
            (&[4], 700),
            (&[4, 3], 2_500),
        ];
        for (id, (want_deps, delay_ms)) in expected.into_iter().enumerate() {
            let id = id as u32;
            assert_eq!(deps(&w, id), want_deps, "node {id}");
            assert_eq!(
                w.node(NodeId(id)).delay,
                SimTime::from_millis(delay_ms),
                "node {id}"
            );
        }
        assert_eq!(w.node(NodeId(0)).timestamp, Some(SimTime::ZERO));
        // The subagent's relative times were made absolute: 5 s + 1.5 s.
        assert_eq!(
            w.node(NodeId(3)).timestamp,
            Some(SimTime::from_millis(6_500))
        );
        assert_eq!(w.node(NodeId(7)).input_tokens, 1_500);
        // Play b was written out of order; its calls are chained in `t` order.
        assert_eq!(w.node(NodeId(8)).timestamp, Some(SimTime::from_secs(20)));
        assert_eq!((deps(&w, 9), deps(&w, 10)), (vec![8], vec![9]));
        assert_eq!(w.node(NodeId(9)).input_tokens, 192);
    }

    #[test]
    fn local_ids_are_private_to_a_play_and_global_ids_are_shared() {
        let play = |scope: &str, t: u32| {
            format!(
                r#"{{"hash_id_scope": "{scope}", "requests": [{{"t": {t}, "in": 64, "out": 1, "hash_ids": [7]}}]}}"#
            )
        };
        let local = parse(&format!("{}\n{}", play("local", 0), play("local", 1))).unwrap();
        assert_ne!(local.own_hash_ids(NodeId(0)), local.own_hash_ids(NodeId(1)));
        let global = parse(&format!("{}\n{}", play("global", 0), play("global", 1))).unwrap();
        assert_eq!(global.own_hash_ids(NodeId(0)), &[7]);
        assert_eq!(global.own_hash_ids(NodeId(1)), &[7]);
    }

    #[test]
    fn a_json_file_is_one_play_and_a_directory_reads_its_files_in_name_order() {
        let dir = std::env::temp_dir().join(format!("servesim-weka-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let play = |t: u32| {
            format!(
                "{{\n  \"id\": \"p{t}\",\n  \"block_size\": 64,\n  \"requests\": [\n    {{\"t\": {t}, \"in\": 100, \"out\": 2, \"hash_ids\": [1, 2]}}\n  ]\n}}\n"
            )
        };
        std::fs::write(dir.join("b.json"), play(5)).unwrap();
        std::fs::write(dir.join("a.json"), play(1)).unwrap();
        std::fs::write(dir.join("notes.txt"), "not a trace").unwrap();
        let w = read_trace(&dir, &options(false)).unwrap().workload;
        assert_eq!((w.len(), w.num_sessions()), (2, 2));
        assert_eq!(w.node(NodeId(0)).timestamp, Some(SimTime::from_secs(1)));
        let one = read_trace(&dir.join("b.json"), &options(false)).unwrap();
        assert_eq!(one.workload.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_plays_name_the_line_entry_and_field() {
        let cases = [
            (
                r#"{"requests": [{"t": 0, "in": 64, "out": 0, "hash_ids": [1]}]}"#,
                "w.jsonl:1: field `out`: requests[0]: must be a positive integer, got 0",
            ),
            (
                r#"{"requests": [{"t": -1, "in": 64, "out": 1, "hash_ids": [1]}]}"#,
                "w.jsonl:1: field `t`: requests[0]: must be a finite number of seconds in [0, 4.612e12), got -1",
            ),
            (
                r#"{"requests": [{"t": 0, "in": 200, "out": 1, "hash_ids": [1, 2]}]}"#,
                "w.jsonl:1: field `in`: requests[0]: 200 tokens exceed the 128 covered by 2 hash_ids × block_size 64",
            ),
            (
                r#"{"requests": [{"t": 0, "type": "subagent", "status": "done", "requests": []}]}"#,
                "w.jsonl:1: field `status`: requests[0]: must be \"completed\" or \"async_launched\", got string \"done\"",
            ),
            (
                r#"{"requests": [{"t": 0, "type": "subagent", "status": "completed", "requests": [{"t": 1, "in": 1, "out": 1}]}]}"#,
                "w.jsonl:1: field `hash_ids`: requests[0].requests[0]: is required but missing",
            ),
            (
                r#"{"requests": [{"t": 0, "type": "tool", "in": 1, "out": 1, "hash_ids": [1]}]}"#,
                "w.jsonl:1: field `type`: requests[0]: must be \"n\", \"s\" or \"subagent\", got string \"tool\"",
            ),
            (
                r#"{"hash_id_scope": "team", "requests": []}"#,
                "w.jsonl:1: field `hash_id_scope`: must be \"local\" or \"global\", got string \"team\"",
            ),
            (
                r#"{"requests": []}"#,
                "w.jsonl:1: field `requests`: the play has no request",
            ),
            (
                "[1, 2]",
                "w.jsonl:1: expected a JSON object (one play), got an array",
            ),
            (
                "{\"requests\": [{\"t\": 0, \"in\": 1, \"out\": 1, \"hash_ids\": [1]}]}\n{\"block_size\": 32, \"requests\": [{\"t\": 0, \"in\": 1, \"out\": 1, \"hash_ids\": [1]}]}",
                "w.jsonl:2: field `block_size`: 32 differs from the block size 64 of line 1; one workload has one block size",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).unwrap_err(), expected);
        }
    }

    #[test]
    fn skipping_an_invalid_play_keeps_the_others_whole() {
        let text = "{\"requests\": [{\"t\": 0, \"in\": 1, \"out\": 1, \"hash_ids\": [1]}, {\"t\": 1, \"in\": 1, \"out\": 0, \"hash_ids\": [1]}]}\n\
                    {\"requests\": [{\"t\": 0, \"in\": 1, \"out\": 1, \"hash_ids\": [1]}]}";
        let loaded = parse_trace(text.as_bytes(), "w.jsonl", &options(true)).unwrap();
        assert_eq!((loaded.workload.len(), loaded.skipped.count), (1, 1));
        assert_eq!(loaded.workload.num_sessions(), 1);
    }
}
