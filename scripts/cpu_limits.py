"""How close the engine's kernels run to this CPU's limits, for SmolLM2-135M's layer shapes.

    python scripts/cpu_limits.py

Prints, for the shapes of one transformer layer and the head:
- prefill: a 340-token prompt through each packed Linear (oneDNN, what the engine uses), as GFLOP/s, beside
  the two cores' fp32 peak estimated from the clock (AVX2: two 8-wide FMA units, 32 flops a cycle a core);
- decode: one row through each packed Linear, as GB/s of weight read, beside `torch.sum`'s read bandwidth;
- attention at 340 tokens: SDPA's flash and math kernels.
A prefill near the peak is compute-bound (only fewer or cheaper flops make it faster); a decode near the read
bandwidth is memory-bound. docs/benchmarks.md records what this printed and what it means for the goals.
"""

from __future__ import annotations

import os
import re
import time

import torch

LAYER = {"q": (576, 576), "k/v": (576, 192), "o": (576, 576), "gate/up": (576, 1536), "down": (1536, 576),
         "head": (576, 49152)}  # (in, out)


def seconds(fn, repeats: int) -> float:
    """Best of three means over `repeats` calls, after a warm-up call."""
    fn()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def packed_linear(weight: torch.Tensor):
    packed = torch.ops.mkldnn._reorder_linear_weight(weight)
    return lambda x: torch.ops.mkldnn._linear_pointwise(x, packed, None, "none", [], "")


def clock_ghz() -> float:
    speeds = re.findall(r"cpu MHz\s*:\s*([\d.]+)", open("/proc/cpuinfo").read()) if os.path.exists("/proc/cpuinfo") else []
    return max(map(float, speeds)) / 1000 if speeds else float("nan")


def main() -> None:
    threads = torch.get_num_threads()
    peak = clock_ghz() * 32 * threads
    big = torch.randn(256 * 2**20)  # 1 GiB
    read_gbs = big.numel() * 4 / seconds(big.sum, 5) / 1e9
    del big
    print(f"{threads} threads, {clock_ghz():.2f} GHz: fp32 AVX2 peak ~{peak:.0f} GFLOP/s; torch.sum reads {read_gbs:.1f} GB/s")
    print(f"{'layer':8} {'prefill (340 tokens)':>24} {'decode (1 row)':>22}")
    for name, (n_in, n_out) in LAYER.items():
        # Decode: rotate through enough copies that the weights do not sit in the cache between calls.
        copies = max(1, (256 * 2**20) // (n_in * n_out * 4))
        weights = [packed_linear(torch.randn(n_out, n_in)) for _ in range(min(copies, 40))]
        row, calls = torch.randn(1, n_in), iter(range(10**9))
        decode = seconds(lambda: weights[next(calls) % len(weights)](row), 50)
        prompt = torch.randn(340, n_in)
        prefill = seconds(lambda: weights[0](prompt), 5)
        print(f"{name:8} {2 * 340 * n_in * n_out / prefill / 1e9:10.0f} GFLOP/s ({100 * 2 * 340 * n_in * n_out / prefill / 1e9 / peak:3.0f} %)"
              f" {n_in * n_out * 4 / decode / 1e9:10.1f} GB/s ({100 * n_in * n_out * 4 / decode / 1e9 / read_gbs:3.0f} %)")
    from torch.nn.attention import SDPBackend, sdpa_kernel

    q, k, v = (torch.randn(1, 9, 340, 64) for _ in range(3))
    for backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.MATH):
        with torch.inference_mode(), sdpa_kernel(backend):
            ms = 1e3 * seconds(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True), 10)
        print(f"attention, 340 tokens, 9 heads, {backend.name.lower()}: {ms:.2f} ms a layer")


if __name__ == "__main__":
    main()
