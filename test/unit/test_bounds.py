"""Every cache is bounded (convention 11) and pretrained models load offline unless allowed."""

from __future__ import annotations

import pytest
import torch

from mm_robot.core.lru import LRUCache
from mm_robot.model import FusionModel, hub, tiny_config


def test_lru_drops_the_least_recently_used():
    cache: LRUCache[str, int] = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert "b" not in cache and cache["a"] == 1 and cache["c"] == 3 and len(cache) == 2
    assert cache.evictions == 1
    cache.resize(1)
    assert len(cache) == 1 and "c" in cache
    with pytest.raises(ValueError):
        LRUCache(0)


def test_serving_caches_stay_bounded_however_many_commands_arrive():
    torch.manual_seed(0)
    model = FusionModel(tiny_config(colour_lexicon=True, shape_lexicon=True)).for_inference(cache_size=8)
    images = torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        for i in range(30):
            model.encode(images, [f"go to the red ball number {i}"])
    for cache in (model._text_cache, model._colour_cache, model._shape_cache, model._command_cache):
        assert len(cache) == 8
    with torch.no_grad():  # the newest commands are the ones kept
        assert "go to the red ball number 29" in model._command_cache


def test_pretrained_models_load_offline_unless_allowed():
    calls = []

    def loader(source, **kwargs):
        calls.append(kwargs)
        if kwargs["local_files_only"]:
            raise OSError("not cached")
        return source

    hub.allow_downloads(False)
    with pytest.raises(OSError, match="downloads are off"):
        hub.load_pretrained(loader, "someone/some-model")
    try:
        hub.allow_downloads(True)
        assert hub.load_pretrained(loader, "someone/some-model") == "someone/some-model"
    finally:
        hub.allow_downloads(False)
    assert [c["local_files_only"] for c in calls] == [True, False]
