"""Data generation, datasets, training (single process or torchrun DDP) and evaluation.

Entry points for the ``mm-robot`` CLI: :func:`datagen_main`, :func:`train_main`,
:func:`evaluate_main` (each takes an argv list and returns an exit code).
"""

from __future__ import annotations


def datagen_main(argv=None) -> int:
    from .datagen import datagen_main as main
    return main(argv)


def train_main(argv=None) -> int:
    from .trainer import train_main as main
    return main(argv)


def evaluate_main(argv=None) -> int:
    from .evaluate import evaluate_main as main
    return main(argv)


__all__ = ["datagen_main", "evaluate_main", "train_main"]
