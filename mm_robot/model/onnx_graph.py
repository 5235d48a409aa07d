"""The image side of a :class:`FusionModel` as an ONNX graph, rewritten for one frame at a time.

Per frame, only the image changes; the command's tokens change once per command. The graph is
rewritten so that everything that depends on the command alone is computed once per command
(:meth:`ServingGraph.command_inputs`, cached by the caller) and everything that depends on the
weights alone is folded into constants at export. The algebra is exact (same outputs up to float
rounding); for the first cross-modal block, with d_h the head width and LN the image-side norm:

* attention logits  e_h = (W_q LN(x) + b_q)_h (W_k,h LN(y) + b_k,h)^T / sqrt(d_h)
                        = QK_h LN(y)^T + (a per-query constant, which softmax ignores),
  with QK_h = (W_q LN(x) + b_q)_h W_k,h / sqrt(d_h) computed per command;
* attended values   W_o [alpha_h (W_v,h LN(y) + b_v,h)]_h + b_o
                        = sum_h (alpha_h LN(y)) M_h^T + c,  M_h = W_o[:, h] W_v,h,  c = W_o b_v + b_o
  (rows of alpha sum to 1), so the value projection of all N image tokens disappears;
* the gate (or concat mix) of ``fusion`` splits into a per-command x part and a part folded into M.

Inputs: ``images`` (1, H, W, 3) uint8 at the model's input size; ``x`` (1, L, d) the command's
tokens; ``qk`` (1, heads * L, d); ``mix`` (1, L, d) the x part of the gate / concat mix (zeros for
``add``); ``mask_bias`` (1, L) 0 for a real token, -inf for padding. Outputs: presence (1,),
box (1, 4), action_logits (1, K), velocity (1, 2). Models this rewrite does not cover (more than
one fusion layer, audio tokens) are exported as traced :meth:`FusionModel.encode_tokens` instead
(:class:`TracedGraph`, inputs images, x, maskf).
"""

from __future__ import annotations

import copy
import io
import math
import warnings
from typing import Optional

import torch
from torch import nn

from .encoders import IMAGENET_MEAN, IMAGENET_STD, CompactCNN, HFTextEncoder
from .modeling import CrossModalBlock, FusionModel

OUTPUT_NAMES = ["presence", "box", "action_logits", "velocity"]


class _PixelVision(nn.Module):
    """uint8 pixels (B, H, W, 3) -> the vision tower's tokens. For the compact CNN the [0, 1]
    scaling and the ImageNet normalisation are folded into the first convolution (only the mean
    is subtracted, so zero padding still means the mean colour, as in the original)."""

    def __init__(self, vision: nn.Module) -> None:
        super().__init__()
        self.vision = copy.deepcopy(vision)
        self.folded = isinstance(vision, CompactCNN) and isinstance(self.vision.body[0][0], nn.Conv2d)
        if self.folded:
            conv = self.vision.body[0][0]
            std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
            with torch.no_grad():
                conv.weight.div_(255.0 * std)
            self.register_buffer("offset", 255.0 * torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
            self.vision.norm = nn.Identity()

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        pixels = images.permute(0, 3, 1, 2).float()  # (B, H, W, 3) uint8 -> (B, 3, H, W)
        return self.vision(pixels - self.offset if self.folded else pixels / 255.0)


class ServingGraph(nn.Module):
    """One frame through a single-block model, command-side work done by :meth:`command_inputs`."""

    def __init__(self, model: FusionModel) -> None:
        super().__init__()
        if not supports_rewrite(model):
            raise ValueError("ServingGraph covers models with one fusion block and no audio tokens")
        self.model = model
        self.pixels = _PixelVision(model.vision)
        block: CrossModalBlock = model.blocks[0]
        self.block = block
        d, heads = model.config.d_model, block.heads
        with torch.no_grad():
            y0 = torch.zeros(1, 3, model.config.image_height, model.config.image_width)
            _, _, centres, grid = model.image_tokens(y0)
            pos, _ = model._positions(*grid, centres.device)
            self.grid = grid
            self.register_buffer("centres", centres.clone())
            self.register_buffer("pos_bias", (pos + model.vis_proj.bias).clone())  # (N, d)
            wo, wv = block.out.weight, block.v.weight  # (d, d) each, (out, in)
            m = torch.stack(
                [
                    wo[:, h * block.d_head : (h + 1) * block.d_head]
                    @ wv[h * block.d_head : (h + 1) * block.d_head]
                    for h in range(heads)
                ]
            )  # (H, d, d)
            c = wo @ block.v.bias + block.out.bias  # (d,)
            layer = _mix_layer(block)
            mix = None if layer is None else layer.weight[:, d:]  # (d, d): the gate / mix's h_y half
            mt = m.transpose(1, 2)  # (H, d_in, d_out): rows are multiplied from the left
            if mix is not None:
                mt = torch.cat([mt, mt @ mix.T], dim=2)  # (H, d, 2d): [h_y | W_mix,y h_y]
                c = torch.cat([c, mix @ c])
            self.register_buffer("values", mt.contiguous())
            self.register_buffer("values_bias", c.contiguous())
        self.heads, self.d = heads, d

    @torch.no_grad()
    def command_inputs(self, x: torch.Tensor, maskf: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-command inputs from tokens x (1, L, d) and float mask (1, L)."""
        block, heads = self.block, self.heads
        q = block.q(block.norm_x(x))[0]  # (L, d)
        wk = block.k.weight  # (d_out, d_in)
        qk = torch.cat(
            [
                q[:, h * block.d_head : (h + 1) * block.d_head]
                @ wk[h * block.d_head : (h + 1) * block.d_head]
                for h in range(heads)
            ]
        ) / math.sqrt(block.d_head)  # (H * L, d), head-major
        layer = _mix_layer(block)
        mix = layer(torch.cat([x, torch.zeros_like(x)], dim=-1)) if layer is not None else torch.zeros_like(x)
        bias = torch.zeros_like(maskf).masked_fill(maskf <= 0, float("-inf"))
        return {
            "x": x.contiguous(),
            "qk": qk[None].contiguous(),
            "mix": mix.contiguous(),
            "mask_bias": bias.contiguous(),
        }

    def forward(
        self,
        images: torch.Tensor,
        x: torch.Tensor,
        qk: torch.Tensor,
        mix: torch.Tensor,
        mask_bias: torch.Tensor,
    ):
        model, block, d = self.model, self.block, self.d
        tokens, _ = self.pixels(images)  # (1, N, C)
        y = tokens @ model.vis_proj.weight.T + self.pos_bias  # (1, N, d)
        yn = block.norm_y(y)
        alpha = (qk @ yn.transpose(1, 2)).softmax(-1)  # (1, H * L, N)
        mixed = (alpha @ yn).reshape(self.heads, -1, d)  # (H, L, d)
        attended = (mixed @ self.values).sum(0, keepdim=True) + self.values_bias  # (1, L, d or 2d)
        h_y = attended[..., :d]
        if block.fusion == "gated":  # g * x + (1 - g) * h_y = h_y + g * (x - h_y)
            gate = torch.sigmoid(mix + attended[..., d:])
            h = h_y + gate * (x - h_y)
        elif block.fusion == "concat":
            h = x + mix + attended[..., d:]
        else:
            h = x + h_y
        h = h + block.ffn(h)  # (1, L, d)
        if model.pool_score is None:
            weights = (mask_bias == 0).float()
            weights = weights / weights.sum(1, keepdim=True).clamp(min=1.0)
        else:
            weights = (model.pool_score(h).squeeze(-1) + mask_bias).softmax(dim=1)  # (1, L)
        pooled = weights[:, None] @ h  # (1, 1, d)
        out = model.heads(y, pooled[:, 0], self.centres, self.grid)
        return out.presence, out.box, out.action_logits, out.velocity


class TracedGraph(nn.Module):
    """Any model: uint8 pixels and command tokens through :meth:`FusionModel.encode_tokens`."""

    def __init__(self, model: FusionModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor, x: torch.Tensor, maskf: torch.Tensor):
        pixels = images.permute(0, 3, 1, 2).float() / 255.0  # (B, H, W, 3) uint8 -> (B, 3, H, W)
        out = self.model.encode_tokens(pixels, x, maskf)
        return out.presence, out.box, out.action_logits, out.velocity


def _mix_layer(block: CrossModalBlock):
    """The Linear over [h_x; h_y] of a gated or concat block (None for ``add``)."""
    return {"gated": getattr(block, "gate", None), "concat": getattr(block, "mix", None)}.get(block.fusion)


class TextTowerGraph(nn.Module):
    """A frozen transformers text tower: token ids and attention mask (1, L) -> last hidden states."""

    def __init__(self, encoder: HFTextEncoder) -> None:
        super().__init__()
        self.tower = encoder.model

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.tower(input_ids=ids, attention_mask=mask).last_hidden_state


def supports_rewrite(model: FusionModel) -> bool:
    return len(model.blocks) == 1 and model.audio is None


def export(graph: nn.Module, example: dict[str, torch.Tensor], outputs: Optional[list[str]] = None) -> bytes:
    """``graph`` traced on ``example`` (input name -> tensor) as ONNX bytes; the command length
    (axis 1 of every input but ``images``) stays dynamic."""
    dynamic = {name: {1: "tokens"} for name in example if name != "images"}
    outputs = outputs or OUTPUT_NAMES
    buffer = io.BytesIO()
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)  # its fused transformer-layer kernel has no ONNX form
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer notes about constants (grid size, scales): intended
            torch.onnx.export(
                graph.eval(),
                tuple(example.values()),
                buffer,
                dynamo=False,
                opset_version=17,
                input_names=list(example),
                output_names=outputs,
                dynamic_axes=dynamic,
            )
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return buffer.getvalue()
