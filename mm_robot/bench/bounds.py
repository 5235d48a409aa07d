"""What one CPU core can do at best, measured in the same run as the numbers it bounds.

* fp32 matmul peak: the best GFLOP/s of an n x n single-precision matrix product over the
  libraries present (PyTorch, NumPy's BLAS, ONNX Runtime), one thread, best of several runs;
* memory-copy bandwidth: GB/s moved (read + write) copying an array much larger than the caches.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Callable, Iterator

import numpy as np


@contextlib.contextmanager
def one_core(core: int | None = None) -> Iterator[int]:
    """Pin this process (and torch's intra-op pool) to one core for the duration; yields the core."""
    import torch

    before, threads = os.sched_getaffinity(0), torch.get_num_threads()
    chosen = core if core is not None else max(before)
    os.sched_setaffinity(0, {chosen})
    torch.set_num_threads(1)
    try:
        yield chosen
    finally:
        os.sched_setaffinity(0, before)
        torch.set_num_threads(threads)


def best_seconds(fn: Callable[[], object], repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _onnx_matmul(n: int) -> Callable[[np.ndarray, np.ndarray], object] | None:
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError:
        return None
    spec = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [n, n]) for name in "ABC"]
    graph = helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["C"])], "matmul", spec[:2], spec[2:])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return lambda a, b: session.run(None, {"A": a, "B": b})


def matmul_peak(sizes: tuple[int, ...] = (256, 512, 1024), repeats: int = 20) -> dict[str, float]:
    """GFLOP/s of the best fp32 n x n product per library and ``best`` over all, on the
    current thread settings (call inside :func:`one_core`)."""
    import torch

    out: dict[str, float] = {}
    for n in sizes:
        a, b = np.random.default_rng(n).standard_normal((2, n, n), dtype=np.float32)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        runs = {"torch": lambda: ta @ tb, "numpy": lambda: a @ b}  # noqa: B023 (called in this iteration)
        onnx_run = _onnx_matmul(n)
        if onnx_run is not None:
            runs["onnxruntime"] = lambda: onnx_run(a, b)  # noqa: B023 (called in this iteration)
        for name, fn in runs.items():
            rate = 2.0 * n**3 / best_seconds(fn, max(3, repeats * 256 // n)) / 1e9
            out[name] = max(out.get(name, 0.0), rate)
    out["best"] = max(out.values())
    return {k: round(v, 2) for k, v in out.items()}


def copy_bandwidth(megabytes: int = 256, repeats: int = 8) -> float:
    """GB/s (bytes read + bytes written) of ``np.copyto`` between two ``megabytes`` arrays."""
    src = np.ones(megabytes * 2**20 // 4, dtype=np.float32)
    dst = np.empty_like(src)
    seconds = best_seconds(lambda: np.copyto(dst, src), repeats, warmup=1)
    return round(2 * src.nbytes / seconds / 1e9, 2)
