"""Type stubs of the servesim package."""

from os import PathLike
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from typing_extensions import TypedDict, Unpack

__version__: str

_Json = Union[Mapping[str, Any], str]
_Path = Union[str, bytes, "PathLike[str]"]

class _RunKeywords(TypedDict, total=False):
    """Keywords every replay takes (the `servesim run` flags of the same names)."""

    num_workers: Optional[int]
    num_prefill_workers: Optional[int]
    num_decode_workers: Optional[int]
    extra_engine_args: Optional[_Json]
    prefill_engine_args: Optional[_Json]
    decode_engine_args: Optional[_Json]
    router_config: Optional[_Json]
    planner_config: Optional[_Json]
    aic_perf_config: Optional[Mapping[str, Any]]
    scaling_policy: Optional[str]
    benchmark_granularity: Optional[int]
    replay_concurrency: Optional[int]
    replay_mode: Optional[str]
    router_mode: Optional[str]
    arrival_speedup_ratio: Optional[float]
    warmup_requests: Optional[int]
    seed: Optional[int]
    report_json: Optional[str]
    report_html: Optional[str]
    requests_jsonl: Optional[str]

class _TraceKeywords(_RunKeywords, total=False):
    """A trace file's keywords."""

    trace_format: Optional[str]
    trace_block_size: Optional[int]

class _SyntheticKeywords(_RunKeywords, total=False):
    """A synthetic load's keywords."""

    arrival_interval_ms: Optional[float]
    turns_per_session: Optional[int]
    shared_prefix_ratio: Optional[float]
    num_prefix_groups: Optional[int]
    inter_turn_delay_ms: Optional[float]
    random_range_ratio: Optional[float]

def run_trace_replay(trace_file: _Path, **kwargs: Unpack[_TraceKeywords]) -> Dict[str, Any]:
    """Replay a trace; the report dict of ``servesim run --report-json``."""

def run_synthetic_trace_replay(
    input_tokens: int,
    output_tokens: int,
    request_count: int,
    **kwargs: Unpack[_SyntheticKeywords],
) -> Dict[str, Any]:
    """Replay a synthetic load; the report dict."""

def sweep(
    trace_file: Optional[_Path] = ...,
    *,
    params: Union[Sequence[str], Mapping[str, Sequence[Any]]],
    jobs: Optional[int] = ...,
    out_dir: Optional[str] = ...,
    shard: Optional[str] = ...,
    **kwargs: Any,
) -> List[Dict[str, Any]]:
    """Replay a grid of configurations in parallel; one dict per run."""
