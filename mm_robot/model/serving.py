"""Serving forms of a trained :class:`FusionModel`: what runs on every camera frame.

* ``onnx`` (the default): the image side of the model (vision tower, cross-modal block, heads),
  rewritten for one frame (``onnx_graph.ServingGraph``: command-side work per command, weight-only
  products folded), exported with ``torch.onnx`` to an in-memory graph and run by ONNX Runtime on
  one thread. The graph takes the frame as uint8 pixels (1, H, W, 3), so the float conversion and
  normalisation happen inside it; ONNX Runtime fuses the small operations whose per-operation cost
  dominates the PyTorch form. Without ``onnxruntime`` (or if the export fails) it falls back to
  ``torch`` and logs one warning saying so.
* ``torch``: the PyTorch module itself in its ``for_inference`` form (folded batch norms,
  channels-last convolutions); training and evaluation use this code.

Both forms take the command's projected tokens from one :class:`~mm_robot.core.lru.LRUCache`: the text tower,
colour and shape tokens run once per distinct command string, and only the tokens the command
actually has (its mask) are kept, since padding tokens never reach the outputs (every command
token attends over the image on its own, and pooling masks padding out).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Optional, Protocol

import numpy as np
import torch

from ..core.lru import LRUCache
from . import onnx_cache, onnx_graph
from .encoders import HFTextEncoder, bundled_minilm_dir
from .modeling import FusionModel

LOG = logging.getLogger(__name__)
SERVING_FORMS = ("onnx", "torch")
COMMAND_CACHE_SIZE = 256  # distinct command strings whose tokens are kept (least recently used go first)



@dataclass
class Prediction:
    """What the policy needs of one forward pass (numpy, batch first)."""

    presence: np.ndarray  # (B,) probability that the named object is in view
    box: np.ndarray  # (B, 4) normalised (x0, y0, x1, y1) of the most likely image token's box
    action_logits: np.ndarray  # (B, K) over config.actions
    velocity: np.ndarray  # (B, 2) (linear m/s, angular rad/s)


class ServingForm(Protocol):
    name: str

    def predict(
        self, images: np.ndarray, texts: list[str], audio: Optional[torch.Tensor] = None
    ) -> Prediction:
        """images (B, H, W, 3) uint8 RGB at the model's input size; B command strings."""


class _CommandTokens:
    """Text -> the command's projected tokens x (L', d) and float mask (L',), padding dropped.
    ``text_session``: an ONNX Runtime session of the text tower (``onnx_graph.TextTowerGraph``)
    to run instead of the PyTorch one."""

    def __init__(self, model: FusionModel, text_session=None) -> None:
        self.model, self.text_session = model, text_session

    def states(self, text: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The text tower's hidden states (1, L, D_t) and bool mask (1, L) for one command."""
        if self.text_session is None:
            self.model.text.eval()
            return self.model.text([text])  # the tower itself: the serving cache is the only one filled
        ids, mask = self.model.text.tokenize([text])
        (hidden,) = self.text_session.run(None, {"ids": ids.numpy(), "mask": mask.numpy()})
        return torch.from_numpy(hidden), mask.bool()

    @torch.no_grad()
    def __call__(self, text: str) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.states(text)
        x, maskf = self.model.project_command([text], states)  # (1, L, d), (1, L)
        keep = maskf[0] > 0
        if not bool(keep.any()):  # nothing to attend with: one masked token gives the same outputs
            keep[0] = True
        return x[0, keep].contiguous(), maskf[0, keep].contiguous()


def _batch(rows: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-command (x (L_i, d), mask (L_i,)) -> x (B, L, d) and mask (B, L), shorter rows padded
    with masked zeros."""
    width = max(len(m) for _, m in rows)
    like = rows[0][0]
    x = like.new_zeros(len(rows), width, like.shape[1])
    maskf = like.new_zeros(len(rows), width)
    for i, (tokens, mask) in enumerate(rows):
        x[i, : len(mask)], maskf[i, : len(mask)] = tokens, mask
    return x, maskf


class TorchServing:
    """The PyTorch module (``for_inference`` form) on cached command tokens."""

    name = "torch"

    def __init__(self, model: FusionModel, cache_size: int = COMMAND_CACHE_SIZE) -> None:
        self.model = model if model.serving else model.for_inference()
        self.commands: LRUCache[str, tuple[torch.Tensor, torch.Tensor]] = LRUCache(cache_size,
                                                                                   _CommandTokens(self.model))

    @torch.inference_mode()
    def predict(
        self, images: np.ndarray, texts: list[str], audio: Optional[torch.Tensor] = None
    ) -> Prediction:
        x, maskf = _batch([self.commands(t) for t in texts])
        pixels = torch.from_numpy(np.ascontiguousarray(images)).to(x.device)  # (B, H, W, 3) uint8
        pixels = pixels.permute(0, 3, 1, 2).float().div_(255.0)  # -> (B, 3, H, W) in [0, 1]
        out = self.model.encode_tokens(pixels, x, maskf, audio)
        return Prediction(
            *(t.cpu().numpy() for t in (out.presence, out.box, out.action_logits, out.velocity))
        )


class OnnxServing:
    """The image side exported to ONNX (``onnx_graph``) and run by ONNX Runtime on
    ``num_threads`` intra-op threads, one frame per run."""

    name = "onnx"

    def __init__(
        self, model: FusionModel, num_threads: int = 1, cache_size: int = COMMAND_CACHE_SIZE
    ) -> None:
        import onnxruntime as ort

        self.model = model if model.serving else model.for_inference()
        self._ort, self.num_threads = ort, int(num_threads)
        tokens = _CommandTokens(self.model, self._text_session())
        self.text_served = tokens.text_session is not None
        self.rewritten = onnx_graph.supports_rewrite(self.model)
        self.graph = (onnx_graph.ServingGraph if self.rewritten else onnx_graph.TracedGraph)(self.model)
        self.commands: LRUCache[str, dict[str, np.ndarray]] = LRUCache(cache_size, lambda text: {
            k: v.numpy() for k, v in self._command_inputs(*tokens(text)).items() if k in self._inputs})
        cfg = self.model.config
        example = {
            "images": torch.zeros(1, cfg.image_height, cfg.image_width, 3, dtype=torch.uint8),
            **self._command_inputs(torch.zeros(4, cfg.d_model), torch.ones(4)),
        }
        self.session = self._session(onnx_graph.export(self.graph, example))
        self._inputs = {i.name for i in self.session.get_inputs()}  # the export drops unused ones

    def _session(self, graph: bytes | str):
        options = self._ort.SessionOptions()
        options.intra_op_num_threads = self.num_threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = self._ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting
        options.log_severity_level = 3
        return self._ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def _text_session(self):
        """The frozen pretrained text tower in ONNX Runtime (3-4x faster per new command than
        PyTorch on one core), from the file ``onnx_cache`` keeps; None for other towers or when
        there is no file (PyTorch then runs the tower)."""
        cfg = self.model.config
        if not isinstance(self.model.text, HFTextEncoder) or not self.model.text_frozen:
            return None
        source = cfg.text_pretrained or (str(bundled_minilm_dir()) if cfg.text_encoder == "minilm" else "")
        path = onnx_cache.text_tower_file(cfg.text_encoder, source, cfg.max_text_tokens) if source else None
        if path is None:
            LOG.warning("no ONNX export of the text tower %r: running it with PyTorch", source)
            return None
        return self._session(str(path))

    def _command_inputs(self, x: torch.Tensor, maskf: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.rewritten:
            return self.graph.command_inputs(x[None], maskf[None])
        return {"x": x[None], "maskf": maskf[None]}

    def predict(
        self, images: np.ndarray, texts: list[str], audio: Optional[torch.Tensor] = None
    ) -> Prediction:
        outputs = []
        for i, text in enumerate(texts):
            feeds = dict(self.commands(text))
            if audio is not None and self.model.audio is not None:  # TracedGraph: audio tokens join x
                with torch.no_grad():
                    a = self.model.audio_tokens(audio[i : i + 1]).numpy()  # (1, A, d)
                feeds["x"] = np.concatenate([feeds["x"], a], axis=1)
                feeds["maskf"] = np.concatenate([feeds["maskf"], np.ones(a.shape[:2], np.float32)], axis=1)
            feeds["images"] = np.ascontiguousarray(images[i : i + 1], dtype=np.uint8)
            outputs.append(self.session.run(None, feeds))
        if len(outputs) == 1:  # the policy's case: no copies
            return Prediction(*outputs[0])
        return Prediction(*(np.concatenate(parts) for parts in zip(*outputs)))


def make_serving(
    model: FusionModel, form: str = "onnx", num_threads: int = 1, cache_size: int = COMMAND_CACHE_SIZE
) -> ServingForm:
    """The serving form ``form`` of ``model`` (which becomes its ``for_inference`` form).

    ``"onnx"`` falls back to ``"torch"`` with one warning when ONNX Runtime is missing or the
    export fails; ``"torch"`` is always available. Unknown names are a ValueError.
    """
    if form not in SERVING_FORMS:
        raise ValueError(f"unknown serving form {form!r}; choose one of {', '.join(SERVING_FORMS)}")
    if form == "onnx":
        t0 = time.perf_counter()
        try:
            serving = OnnxServing(model, num_threads, cache_size)
        except ImportError:
            LOG.warning(
                "onnxruntime is not installed: serving the fusion model with PyTorch, about 3x "
                "slower per frame (pip install onnxruntime)"
            )
        except Exception as error:  # an encoder the exporter cannot trace: the slower form still works
            LOG.warning("ONNX export of the fusion model failed (%r): serving it with PyTorch", error)
        else:
            LOG.info("fusion model served by ONNX Runtime (exported in %.1f s)", time.perf_counter() - t0)
            return serving
    return TorchServing(model, cache_size)
