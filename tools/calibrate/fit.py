#!/usr/bin/env python3
"""Refit servesim's analytical roofline curves to AIConfigurator 0.12.0's measured tables.

Each curve is `t = (t_c^q + t_m^q)^(1/q) + t0` with `t_c = flops / (peak * e_c)` and
`t_m = bytes / (bw * min(e_m, 1))` (crates/perf-model/src/analytical.rs), fitted by least
squares on log latency. The peaks and bandwidths below are servesim's (system.rs). Output:
one JSON object per (system, backend, curve) with `params = [e_c, e_m, t0_us, q]`, the row
count and the fit's median and time-weighted absolute errors; paste the parameters into
crates/perf-model/src/calibration.rs as `rl(e_c, e_m, t0_us, q)`.

    python3 -m venv /tmp/aic && /tmp/aic/bin/pip install aiconfigurator-core==0.12.0 pyarrow scipy
    /tmp/aic/bin/python tools/calibrate/fit.py --systems /tmp/aic/lib/python3*/site-packages/aiconfigurator_core/systems gemm_fp8

Curves (docs/perf-model.md lists where each is used):
  gemm_fp8, gemm_fp4          `gemm_perf` rows `fp8` / `nvfp4` with n, k >= 512
  generation_attention_fp8    `generation_attention_perf`, FP8 KV, 128-wide heads, 4 or 8
                              query heads per KV head, <= 64 heads, batch x keys >= 16384
  moe_fp8, moe_fp4, moe_mxfp4 `moe_perf` rows `fp8` / `nvfp4` / `w4a8_mxfp4_mxfp8`
                              (power_law_1.01) at the expert shapes of the built-in MoE models
"""

import argparse
import glob
import json
import sys

import numpy as np
import pyarrow.parquet as pq
from scipy.optimize import least_squares

# (bf16, fp8, fp4 FLOP/s; HBM bytes/s) as in crates/perf-model/src/system.rs.
SYSTEMS = {
    "a100_sxm": (312e12, 0.0, 0.0, 2.039e12),
    "h100_sxm": (989e12, 1978e12, 0.0, 3.35e12),
    "h200_sxm": (989e12, 1978e12, 0.0, 4.8e12),
    "b200_sxm": (2250e12, 4500e12, 9000e12, 7.7e12),
    "gb200": (2500e12, 5000e12, 10000e12, 8.0e12),
    "l40s": (362.05e12, 733e12, 0.0, 864e9),
}
# AIConfigurator 0.12.0's current table versions.
VERSIONS = {"vllm": "0.24.0", "sglang": "0.5.14", "trtllm": "1.3.0rc20"}
A100_VERSIONS = {"vllm": "0.14.0", "sglang": "0.5.10", "trtllm": "1.0.0"}
# (hidden, expert intermediate, experts, top-k) of the built-in MoE models.
MOE_SHAPES = {
    "moe_fp8": {(4096, 14336, 8, 2), (4096, 1536, 128, 8), (2048, 768, 128, 8)},
    "moe_fp4": {
        (7168, 2048, 256, 8),
        (4096, 1536, 128, 8),
        (2048, 768, 128, 8),
        (2880, 2880, 128, 4),
        (2880, 2880, 32, 4),
    },
    "moe_mxfp4": {(2880, 2880, 128, 4), (2880, 2880, 32, 4)},
}
MOE_FORMAT = {"moe_fp8": "fp8", "moe_fp4": "nvfp4", "moe_mxfp4": "w4a8_mxfp4_mxfp8"}
# Weight bytes per element, scales included.
MOE_WEIGHT_BYTES = {"moe_fp8": 1.0, "moe_fp4": 0.5625, "moe_mxfp4": 0.53125}
EP_IMBALANCE = 0.2
# Start point and bounds of (e_c, e_m, t0_us, q) per op family; decode attention's compute
# efficiency is bounded below by 0.4 so that it stays memory bound.
FIT_SETUP = {
    "gemm": ([0.6, 0.8, 5.0, 2.0], [0.05, 0.05, 0.0, 1.0], [1.5, 2.0, 200.0, 12.0]),
    "generation": ([0.5, 0.8, 10.0, 1.5], [0.4, 0.05, 0.0, 1.0], [3.0, 1.0, 200.0, 12.0]),
    "moe": ([0.4, 0.8, 20.0, 1.5], [0.05, 0.05, 0.0, 1.0], [1.5, 2.0, 300.0, 12.0]),
}


def roofline_ms(p, flops, nbytes, peak, bw):
    ec, em, t0_us, q = p
    tc = flops / (peak * ec)
    tm = nbytes / (bw * min(em, 1.0))
    top, low = np.maximum(tc, tm), np.minimum(tc, tm)
    return (top * (1 + (low / top) ** q) ** (1 / q) + t0_us * 1e-6) * 1e3


def table(root, system, family, backend, name):
    versions = A100_VERSIONS if system == "a100_sxm" else VERSIONS
    files = glob.glob(f"{root}/data/{system}/{family}/{backend}/{versions[backend]}/{name}.parquet")
    return pq.read_table(files[0]).to_pydict() if files else None


def columns(d, rows, *names):
    return [np.array([d[n][i] for i in rows], float) for n in names]


def gemm_work(d, system, fmt):
    rows = [
        i for i, g in enumerate(d["gemm_dtype"]) if g == fmt and d["n"][i] >= 512 and d["k"][i] >= 512
    ]
    m, n, k, lat = columns(d, rows, "m", "n", "k", "latency")
    bf16, fp8, fp4, _ = SYSTEMS[system]
    peak, w, a = (fp8 or bf16, 1.0, 1.0) if fmt == "fp8" else (fp4 or fp8, 0.5, 0.5)
    return 2 * m * n * k, n * k * w + m * k * a + m * n * 2.0, peak, lat


def decode_attention_work(d, system):
    n = len(d["latency"])
    window = d.get("window_size", [0] * n)
    beam = d.get("beam_width", [1] * n)
    rows = [
        i
        for i in range(n)
        if d["head_dim"][i] == 128
        and window[i] == 0
        and beam[i] == 1
        and d["kv_cache_dtype"][i] == "fp8"
        and d["num_key_value_heads"][i] > 0
        and d["num_heads"][i] // d["num_key_value_heads"][i] in (4, 8)
        and d["num_heads"][i] <= 64
        and d["batch_size"][i] * (d["step"][i] + 1) >= 16384
    ]
    b, step, heads, kv_heads, lat = columns(
        d, rows, "batch_size", "step", "num_heads", "num_key_value_heads", "latency"
    )
    keys = step + 1
    flops = 2 * b * heads * 256 * keys
    nbytes = b * keys * kv_heads * 128 * 2 * 1.0 + b * heads * 256 * 2
    return flops, nbytes, SYSTEMS[system][0], lat


def moe_work(d, system, curve):
    rows = [
        i
        for i in range(len(d["latency"]))
        if d["moe_dtype"][i] == MOE_FORMAT[curve]
        and d["distribution"][i] == "power_law_1.01"
        and (d["hidden_size"][i], d["inter_size"][i], d["num_experts"][i], d["topk"][i])
        in MOE_SHAPES[curve]
    ]
    x, h, inter, k, experts, tp, ep, lat = columns(
        d, rows, "num_tokens", "hidden_size", "inter_size", "topk", "num_experts",
        "moe_tp_size", "moe_ep_size", "latency",
    )
    shard = inter / tp
    flops = 2 * x * k * h * 3 * shard / ep * (1 + EP_IMBALANCE * (ep - 1))
    active = experts / ep * (1 - (1 - 1 / experts) ** (x * k))
    nbytes = active * 3 * h * shard * MOE_WEIGHT_BYTES[curve] + x * h * 2 * 2
    bf16, fp8, fp4, _ = SYSTEMS[system]
    peak = (fp8 or bf16) if curve == "moe_fp8" else fp4
    return flops, nbytes, peak, lat


def fit(curve, root, system, backend):
    if curve in ("gemm_fp8", "gemm_fp4"):
        d = table(root, system, "gemm", backend, "gemm_perf")
        work = d and gemm_work(d, system, "fp8" if curve == "gemm_fp8" else "nvfp4")
    elif curve == "generation_attention_fp8":
        d = table(root, system, "attention", backend, "generation_attention_perf")
        work = d and decode_attention_work(d, system)
    else:
        d = table(root, system, "moe", backend, "moe_perf")
        work = d and moe_work(d, system, curve)
    if not work or len(work[3]) < 30 or work[2] <= 0:
        return None
    flops, nbytes, peak, lat = work
    bw = SYSTEMS[system][3]
    start, lower, upper = FIT_SETUP[curve.split("_")[0]]
    residual = lambda p: np.log(roofline_ms(p, flops, nbytes, peak, bw) / lat)
    r = least_squares(residual, start, bounds=(lower, upper))
    err = np.abs(roofline_ms(r.x, flops, nbytes, peak, bw) / lat - 1)
    return {
        "system": system,
        "backend": backend,
        "curve": curve,
        "rows": len(lat),
        "params": [round(float(v), 3) for v in r.x],
        "median_err_pct": round(float(np.median(err) * 100), 1),
        "time_weighted_err_pct": round(float(np.sum(err * lat) / np.sum(lat) * 100), 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", required=True, help="aiconfigurator_core/systems folder")
    parser.add_argument(
        "curve",
        choices=["gemm_fp8", "gemm_fp4", "generation_attention_fp8", "moe_fp8", "moe_fp4", "moe_mxfp4"],
    )
    args = parser.parse_args()
    for system in SYSTEMS:
        for backend in VERSIONS:
            result = fit(args.curve, args.systems, system, backend)
            if result:
                print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
