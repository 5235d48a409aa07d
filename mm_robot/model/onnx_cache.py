"""ONNX exports of frozen pretrained text towers, made once in a child process and kept on disk.

Tracing a 22M-parameter tower for export costs seconds and leaves a few hundred MB of freed
memory in the exporting process that the allocator does not hand back. So the export runs in a
child process (``python -m mm_robot.model.onnx_cache``) and its file is kept in the cache
directory (``$MM_ROBOT_CACHE``, default ``~/.cache/mm_robot``), under a key made of the tower's
kind, source directory, the sizes and times of its files, the token length and the torch
version: later starts only load the file. A cache that cannot be written means no file (the
caller then runs the tower with PyTorch).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence

CACHE_VARIABLE = "MM_ROBOT_CACHE"


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "mm_robot")


def _key(kind: str, source: str, max_tokens: int) -> str:
    import torch

    files = sorted(
        (p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in Path(source).iterdir() if p.is_file()
    )
    text = json.dumps([kind, str(Path(source).resolve()), files, max_tokens, torch.__version__, 1])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def text_tower_file(kind: str, source: str, max_tokens: int, timeout: float = 300.0) -> Optional[Path]:
    """The ONNX file of the text tower ``kind`` loaded from ``source`` (a local directory), made
    now by a child process if it is not in the cache yet; None if it cannot be made or kept."""
    if not Path(source).is_dir():
        return None
    path = cache_dir() / f"text-{kind}-{_key(kind, source, max_tokens)}.onnx"
    if path.is_file():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mm_robot.model.onnx_cache",
                "--kind",
                kind,
                "--source",
                source,
                "--max-tokens",
                str(max_tokens),
                "--out",
                str(partial),
            ],
            check=True,
            timeout=timeout,
            capture_output=True,
        )
        os.replace(partial, path)  # atomic: a concurrent start sees the whole file or none
    except (OSError, subprocess.SubprocessError):
        return None
    return path


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="export a frozen text tower to ONNX (run by text_tower_file)"
    )
    parser.add_argument("--kind", required=True, help="text encoder registry name: minilm, clip or hf_auto")
    parser.add_argument("--source", required=True, help="the tower's local directory")
    parser.add_argument("--max-tokens", type=int, required=True, help="token length the tower is run at")
    parser.add_argument("--out", required=True, help="ONNX file to write")
    args = parser.parse_args(argv)
    from .configuration import FusionConfig
    from .encoders import build_text
    from .onnx_graph import TextTowerGraph, export

    encoder = build_text(
        FusionConfig(text_encoder=args.kind, text_pretrained=args.source, max_text_tokens=args.max_tokens)
    )
    ids, mask = encoder.tokenize(["go to the red ball"])
    Path(args.out).write_bytes(export(TextTowerGraph(encoder).eval(), {"ids": ids, "mask": mask}, ["hidden"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
