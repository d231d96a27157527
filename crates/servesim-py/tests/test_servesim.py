"""The servesim Python package: the reference's API, the same reports as the CLI, clear errors."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import servesim

ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURE = str(ROOT / "fixtures" / "mooncake_conversation_1000.jsonl")
# Keys that measure the host, not the simulation.
WALL_KEYS = {"wall_time_ms", "processed_tokens_per_s", "processed_output_tokens_per_s", "report_html", "wall_time_s"}


def strip_wall(value):
    if isinstance(value, dict):
        return {k: strip_wall(v) for k, v in value.items() if k not in WALL_KEYS}
    if isinstance(value, list):
        return [strip_wall(v) for v in value]
    return value


def cli():
    """The wheel's console script (the same native code as `cargo build -p replay-cli`)."""
    found = shutil.which("servesim", path=os.path.dirname(sys.executable))
    assert found, "the wheel installs a `servesim` console script"
    return found


def test_import_and_version():
    assert servesim.__version__
    assert callable(servesim.run_trace_replay)


def test_the_fixture_from_python_equals_the_cli_report(tmp_path):
    engine = {"block_size": 64}
    report = servesim.run_trace_replay(
        FIXTURE, num_workers=4, router_mode="kv_router", extra_engine_args=engine
    )
    out = tmp_path / "cli.json"
    subprocess.run(
        [cli(), "run", FIXTURE, "--num-workers", "4", "--router-mode", "kv_router",
         "--extra-engine-args", json.dumps(engine), "--report-json", str(out), "--quiet"],
        check=True,
    )
    assert strip_wall(report) == strip_wall(json.loads(out.read_text()))
    assert report["completed_requests"] == 1000


def test_engine_args_as_dict_or_json_string_are_the_same():
    a = servesim.run_trace_replay(FIXTURE, extra_engine_args={"block_size": 32})
    b = servesim.run_trace_replay(FIXTURE, extra_engine_args='{"block_size": 32}')
    assert strip_wall(a) == strip_wall(b)


def test_synthetic_sessions_count_turns():
    report = servesim.run_synthetic_trace_replay(
        2000, 100, 10, turns_per_session=3, replay_concurrency=4, num_workers=2
    )
    assert report["completed_requests"] == 30


def test_router_side_aic_config():
    report = servesim.run_trace_replay(
        FIXTURE,
        num_workers=4,
        router_mode="kv_router",
        router_config={"router_track_prefill_tokens": True, "router_prefill_load_model": "aic"},
        aic_perf_config={"aic_backend": "vllm", "aic_system": "h200_sxm",
                         "aic_model_path": "nvidia/Llama-3.1-8B-Instruct-FP8", "aic_tp_size": 1},
    )
    assert report["servesim"]["config"]["router_prefill_model"]["aic_system"] == "h200_sxm"


def test_a_streamed_replay_reports_what_a_whole_one_does():
    whole = servesim.run_trace_replay(FIXTURE, num_workers=2, stream=False)
    streamed = servesim.run_trace_replay(FIXTURE, num_workers=2, stream=True)
    assert streamed["servesim"]["config"]["workload"]["streamed"] is True
    for r in (whole, streamed):
        r.pop("servesim")
    assert strip_wall(whole) == strip_wall(streamed)
    with pytest.raises(TypeError, match="stream: expected bool, got str"):
        servesim.run_trace_replay(FIXTURE, stream="yes")


def test_unknown_keywords_and_wrong_types_name_the_key():
    with pytest.raises(TypeError, match="unexpected keyword argument 'num_workerz'"):
        servesim.run_trace_replay(FIXTURE, num_workerz=2)
    with pytest.raises(TypeError, match="num_workers: expected int, got str"):
        servesim.run_trace_replay(FIXTURE, num_workers="2")
    with pytest.raises(TypeError, match="aic_perf_config: unknown key 'aic_gpu'"):
        servesim.run_trace_replay(FIXTURE, aic_perf_config={"aic_gpu": "h100"})


def test_simulator_errors_are_value_errors_with_the_cli_message():
    with pytest.raises(ValueError, match="field `block_size`: must be ≥ 1"):
        servesim.run_trace_replay(FIXTURE, extra_engine_args={"block_size": 0})
    with pytest.raises(ValueError, match="--router-mode kv_router needs --num-workers > 1"):
        servesim.run_trace_replay(FIXTURE, router_mode="kv_router")
    with pytest.raises(ValueError, match="no-such-trace.jsonl"):
        servesim.run_trace_replay("no-such-trace.jsonl")
    with pytest.raises(ValueError, match="--replay-mode online"):
        servesim.run_trace_replay(FIXTURE, replay_mode="online")


def test_reports_are_written_only_where_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    servesim.run_synthetic_trace_replay(500, 20, 5)
    assert list(tmp_path.iterdir()) == []
    target = tmp_path / "r.json"
    report = servesim.run_synthetic_trace_replay(500, 20, 5, report_json=str(target))
    assert strip_wall(json.loads(target.read_text())) == strip_wall(report)


def test_sweep_returns_one_row_per_run(tmp_path):
    rows = servesim.sweep(FIXTURE, params={"num_workers": [1, 2], "router_mode": ["round_robin"]})
    assert [r["params"] for r in rows] == [
        {"num_workers": 1, "router_mode": "round_robin"},
        {"num_workers": 2, "router_mode": "round_robin"},
    ]
    assert all(r["error"] is None and r["metrics"]["completed_requests"] == 1000 for r in rows)
    out = tmp_path / "grid"
    servesim.sweep(FIXTURE, params=["num_workers=1,2"], out_dir=str(out), jobs=1)
    assert (out / "sweep.csv").is_file() and (out / "sweep.jsonl").is_file()


def test_the_gil_is_released_during_a_run():
    import threading

    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(1)
            stop.wait(0.001)

    thread = threading.Thread(target=tick)
    thread.start()
    try:
        # A few hundred milliseconds of simulation: a cache small enough to keep preempting.
        servesim.run_synthetic_trace_replay(
            4000, 800, 20000, replay_concurrency=64, extra_engine_args={"num_gpu_blocks": 2000}
        )
    finally:
        stop.set()
        thread.join()
    # With the GIL held the ticker would not run at all until the call returned.
    assert len(ticks) > 30
