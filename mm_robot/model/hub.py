"""Where pretrained weights may come from: local files only, unless a caller allows downloads.

A checkpoint's config can name a hub model id; loading it must not reach the network just
because the file says so. ``from_pretrained`` calls in this package go through
:func:`load_pretrained`, which passes ``local_files_only=True`` until :func:`allow_downloads`
is called (the fusion node's ``allow_model_download`` parameter, ``mm-robot train
--allow-download``), and turns a missing model into an error that says what to do.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

T = TypeVar("T")
_downloads_allowed = False


def allow_downloads(allowed: bool = True) -> None:
    """Let later ``from_pretrained`` calls fetch missing models from a model hub (process-wide)."""
    global _downloads_allowed
    _downloads_allowed = bool(allowed)


def downloads_allowed() -> bool:
    return _downloads_allowed


def load_pretrained(loader: Callable[..., T], source: str, **kwargs: Any) -> T:
    """``loader(source, **kwargs)`` (a transformers ``from_pretrained``), offline unless allowed."""
    try:
        return loader(source, local_files_only=not _downloads_allowed, **kwargs)
    except OSError as error:
        if _downloads_allowed:
            raise
        raise OSError(f"pretrained model {source!r} is not on this machine and downloads are off: pass a "
                      "local directory, or allow downloads (fusion_node allow_model_download:=true, "
                      f"mm-robot train --allow-download). ({error})") from None
