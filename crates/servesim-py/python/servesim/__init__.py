"""servesim: simulate an LLM-serving cluster in seconds.

A drop-in for the reference's ``dynamo.replay`` Python API: :func:`run_trace_replay` and
:func:`run_synthetic_trace_replay` take the same keyword arguments and return the same report
dict as ``servesim run --report-json``; :func:`sweep` replays a grid of configurations in
parallel. The simulation runs in native code with the GIL released.

>>> import servesim
>>> report = servesim.run_synthetic_trace_replay(1000, 50, 20, replay_concurrency=4)
>>> report["completed_requests"]
20
"""

import json
import sys

from . import _servesim

__all__ = ["run_trace_replay", "run_synthetic_trace_replay", "sweep", "__version__"]
__version__ = _servesim.__version__

# keyword -> accepted Python types; the flag is `--keyword-with-dashes`. Dicts become JSON;
# None means "not given".
_INT = (int,)
_NUM = (int, float)
_STR = (str,)
_JSON = (dict, str)
_BOOL = (bool,)  # a switch: the flag alone when True, nothing when False
_RUN_KEYWORDS = {
    "num_workers": _INT,
    "num_prefill_workers": _INT,
    "num_decode_workers": _INT,
    "extra_engine_args": _JSON,
    "prefill_engine_args": _JSON,
    "decode_engine_args": _JSON,
    "router_config": _JSON,
    "planner_config": _JSON,
    "scaling_policy": _STR,
    "benchmark_granularity": _INT,
    "replay_concurrency": _INT,
    "replay_mode": _STR,
    "router_mode": _STR,
    "arrival_speedup_ratio": _NUM,
    "warmup_requests": _INT,
    "seed": _INT,
    "report_json": _STR,
    "report_html": _STR,
    "requests_jsonl": _STR,
}
_TRACE_KEYWORDS = {
    "trace_format": _STR,
    "trace_block_size": _INT,
    "stream": _BOOL,
}
_SYNTHETIC_KEYWORDS = {
    "arrival_interval_ms": _NUM,
    "turns_per_session": _INT,
    "shared_prefix_ratio": _NUM,
    "num_prefix_groups": _INT,
    "inter_turn_delay_ms": _NUM,
    "random_range_ratio": _NUM,
}
# aic_perf_config's keys: the router-side prefill-load model (the CLI's --aic-* flags).
_AIC_KEYS = {
    "aic_backend": _STR,
    "aic_system": _STR,
    "aic_backend_version": _STR,
    "aic_tp_size": _INT,
    "aic_model_path": _STR,
    "aic_moe_tp_size": _INT,
    "aic_moe_ep_size": _INT,
    "aic_attention_dp_size": _INT,
}


def _flag(key):
    """The command-line flag of keyword ``key``."""
    return "--" + key.replace("_", "-")


def _flag_value(key, value, types):
    """The command-line text of keyword ``key``, or a TypeError naming it."""
    if isinstance(value, bool) or not isinstance(value, types):
        wanted = " or ".join(t.__name__ for t in types)
        raise TypeError(f"{key}: expected {wanted}, got {type(value).__name__} {value!r}")
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _argv(kwargs, table, function):
    """Flags for ``kwargs`` by ``table``; unknown keywords raise TypeError naming them."""
    argv = []
    for key, value in kwargs.items():
        if key == "aic_perf_config":
            if value is None:
                continue
            if not isinstance(value, dict):
                raise TypeError(f"aic_perf_config: expected dict, got {type(value).__name__}")
            for aic_key, aic_value in value.items():
                if aic_key not in _AIC_KEYS:
                    known = ", ".join(sorted(_AIC_KEYS))
                    raise TypeError(f"aic_perf_config: unknown key {aic_key!r} (known: {known})")
                if aic_value is not None:
                    argv += [_flag(aic_key), _flag_value(f"aic_perf_config.{aic_key}", aic_value, _AIC_KEYS[aic_key])]
            continue
        if key not in table:
            raise TypeError(f"{function}() got an unexpected keyword argument {key!r}")
        if value is None:
            continue
        if table[key] is _BOOL:
            if not isinstance(value, bool):
                raise TypeError(f"{key}: expected bool, got {type(value).__name__} {value!r}")
            argv += [_flag(key)] if value else []
            continue
        argv += [_flag(key), _flag_value(key, value, table[key])]
    return argv


def _report(argv):
    return json.loads(_servesim.run(argv + ["--quiet"]))


def run_trace_replay(trace_file, **kwargs):
    """Replay ``trace_file`` and return the report dict (``servesim run TRACE``).

    Keywords are the reference's: ``num_workers``, ``router_mode`` (``"round_robin"`` or
    ``"kv_router"``), ``extra_engine_args`` / ``prefill_engine_args`` / ``decode_engine_args``
    / ``router_config`` / ``planner_config`` (dicts or JSON strings), ``num_prefill_workers``,
    ``num_decode_workers``, ``replay_concurrency``, ``replay_mode``, ``arrival_speedup_ratio``,
    ``trace_format``, ``trace_block_size``, ``aic_perf_config`` (the router-side
    ``aic_*`` keys), plus servesim's ``seed``, ``warmup_requests``, ``scaling_policy``,
    ``benchmark_granularity``, ``stream`` (``True``: read the trace chunk by chunk, in memory
    that follows the requests in flight), ``report_json``, ``report_html`` and
    ``requests_jsonl``.
    Only the files those last three name are written (and a planner's HTML report).

    Raises ``TypeError`` for an unknown keyword or a value of the wrong type, and
    ``ValueError`` with the CLI's one-line message for anything the simulator rejects.
    """
    if not isinstance(trace_file, (str, bytes)) and not hasattr(trace_file, "__fspath__"):
        raise TypeError(f"trace_file: expected a path, got {type(trace_file).__name__}")
    path = trace_file.decode() if isinstance(trace_file, bytes) else str(trace_file)
    table = {**_RUN_KEYWORDS, **_TRACE_KEYWORDS}
    return _report([path] + _argv(kwargs, table, "run_trace_replay"))


def run_synthetic_trace_replay(input_tokens, output_tokens, request_count, **kwargs):
    """Replay a synthetic load and return the report dict.

    ``request_count`` sessions of ``input_tokens`` / ``output_tokens`` tokens
    (``servesim run --input-tokens … --output-tokens … --request-count …``). Keywords: those
    of :func:`run_trace_replay` except the trace ones, plus ``arrival_interval_ms``,
    ``turns_per_session``, ``shared_prefix_ratio``, ``num_prefix_groups``,
    ``inter_turn_delay_ms`` and ``random_range_ratio``.
    """
    argv = []
    for key, value in (
        ("input_tokens", input_tokens),
        ("output_tokens", output_tokens),
        ("request_count", request_count),
    ):
        argv += [_flag(key), _flag_value(key, value, _INT)]
    table = {**_RUN_KEYWORDS, **_SYNTHETIC_KEYWORDS}
    return _report(argv + _argv(kwargs, table, "run_synthetic_trace_replay"))


def sweep(trace_file=None, *, params, jobs=None, out_dir=None, shard=None, **kwargs):
    """Replay a grid of configurations in parallel; one dict per run (``servesim sweep``).

    ``params`` is a list of ``"NAME=VALUES"`` strings (``"num_workers=1,2,4"``,
    ``"startup_time=0:300:30"``) or a dict ``{name: [values…]}``. Without ``trace_file`` the
    synthetic keywords (``input_tokens=…``) describe the load. ``out_dir`` also writes the
    CSV, JSONL and HTML tables there; ``jobs`` caps the parallel runs; ``shard="K/N"`` runs
    one slice. Each row has ``run``, ``params``, ``metrics`` and, for a failed run,
    ``error``.
    """
    if isinstance(params, dict):
        params = [f"{name}={','.join(str(v) for v in values)}" for name, values in params.items()]
    if not isinstance(params, (list, tuple)) or not all(isinstance(p, str) for p in params):
        raise TypeError("params: expected a list of 'NAME=VALUES' strings or a dict")
    argv = []
    if trace_file is not None:
        argv.append(str(trace_file))
    for p in params:
        argv += ["--param", p]
    for key, value, types in (("jobs", jobs, _INT), ("out_dir", out_dir, _STR), ("shard", shard, _STR)):
        if value is not None:
            argv += [_flag(key), _flag_value(key, value, types)]
    synthetic = {k: _INT for k in ("input_tokens", "output_tokens", "request_count")}
    table = {**_RUN_KEYWORDS, **_TRACE_KEYWORDS, **_SYNTHETIC_KEYWORDS, **synthetic}
    argv += _argv(kwargs, table, "sweep")
    rows = _servesim.sweep(argv + ["--quiet"], out_dir is not None)
    return json.loads(rows)


def _console():
    """The ``servesim`` console script of the wheel."""
    sys.exit(_servesim.main(["servesim"] + sys.argv[1:]))
