"""The fusion model behind the :class:`~mm_robot.policies.base.Policy` interface.

``load_fusion_policy`` is the factory registered as "fusion" in ``mm_robot.policies``.
A trained checkpoint (``save_pretrained`` output) gives a :class:`FusionPolicy`; a CLIP
checkpoint directory (its config.json has ``model_type: clip``) gives a zero-shot
:class:`ZeroShotPolicy` that grounds by patch-text similarity and steers with
``core.steering``.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch

from ..core.camera_model import camera_for
from ..core.commands import is_stop, parse
from ..core.lru import LRUCache
from ..core.records import Action, Candidate, Decision, Grounding, Observation, PolicyOutput
from ..core.steering import SteeringConfig, steer
from ..model.hub import allow_downloads
from ..model.modeling import FusionModel
from ..model.processing import prepare_audio, prepare_frame, resize_image
from ..model.serving import COMMAND_CACHE_SIZE, make_serving

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "resources" / "checkpoints" / "fusion_default"


def _pixel_box(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (float(v) for v in box)
    px = (int(round(min(max(x0, 0.0), 1.0) * width)), int(round(min(max(y0, 0.0), 1.0) * height)),
          int(round(min(max(x1, 0.0), 1.0) * width)), int(round(min(max(y1, 0.0), 1.0) * height)))
    return px[0], px[1], max(px[2], px[0]), max(px[3], px[1])


def _read_command(text: str) -> tuple[bool, str, Optional[dict], tuple[str, ...]]:
    """(has a stop word, the phrase a grounding names, the plan the words read as, the texts of a
    sequence's steps, empty for one step) of a command; cached per command string. The model
    grounds a step's whole sentence at once, so its plan is reported as read (``grounded_by``:
    "model"), not resolved object by object; a sequence is fed to it one step at a time."""
    intent = parse(text)
    plan = dict(intent.plan.to_json(0), grounded_by="model") if intent.plan is not None else None
    steps = tuple(s.text for s in intent.plan.steps) if intent.plan is not None and intent.plan.is_sequence else ()
    return is_stop(text), intent.label or text, plan, steps


class _PolicyBase:
    name = "fusion"

    def __init__(self, name: str, hfov: float, presence_threshold: float) -> None:
        self.name = name
        self.hfov = float(hfov)
        self.presence_threshold = float(presence_threshold)
        self._readings: LRUCache[str, tuple[bool, str, Optional[dict], tuple[str, ...]]] = LRUCache(
            COMMAND_CACHE_SIZE, _read_command)

    def _trivial(self, observation: Observation, t0: float) -> Optional[PolicyOutput]:
        """No command -> idle; a stop word -> stop (text may always ask to stop, never force motion)."""
        command = observation.command
        if command is None or not command.text.strip():
            reason, action = "no command", Action.IDLE
        elif self._readings(command.text)[0]:
            reason, action = "stop word in command", Action.STOP
        else:
            return None
        return PolicyOutput(None, Decision(action, 1.0, reason, latency_ms=(time.perf_counter() - t0) * 1e3,
                                           stamp=observation.now, policy=self.name))

    def _grounding(self, observation: Observation, box_norm, presence: float) -> Grounding:
        frame = observation.frame
        text = observation.command.text
        phrase = self._readings(text)[1]
        box = _pixel_box(box_norm, frame.width, frame.height)
        lens = camera_for(frame.width, frame.height, frame.camera, self.hfov)  # camera_info's K if known
        bearing = lens.bearing((box[0] + box[2]) / 2.0)
        candidate = Candidate(phrase, float(presence), box, bearing)
        target = candidate if presence >= self.presence_threshold else None
        return Grounding(phrase=phrase, target=target, candidates=(candidate,), stamp=frame.stamp,
                         frame_id=frame.frame_id, image_size=(frame.width, frame.height),
                         presence=float(presence))

    def reset(self) -> None:
        pass


class FusionPolicy(_PolicyBase):
    """Runs :class:`FusionModel` on the latest frame through a serving form (``serving.py``);
    the command's tokens are computed once per command string and cached (LRU)."""

    def __init__(self, model: FusionModel, device: str = "cpu", name: str = "fusion",
                 presence_threshold: float = 0.5, hfov: Optional[float] = None,
                 search_turn: Optional[float] = 0.7, search_limit: float = 2 * math.pi + 0.3,
                 seen_frames: int = 3, serving: str = "onnx", num_threads: int = 1,
                 command_cache: int = COMMAND_CACHE_SIZE, warm_up: bool = True) -> None:
        """``search_turn``: turn rate (rad/s, positive = left, the oracle's convention) used while
        the model says ``search``; None uses the continuous head's angular output instead (a
        checkpoint trained with flip augmentation of search frames predicts ~0 there).
        ``search_limit``: after turning this far (rad) in search of the same command without
        finding it, report ``not_found`` and stop until the next command; the count restarts
        only after ``seen_frames`` consecutive frames that are not ``search``.
        ``serving``: "onnx" (ONNX Runtime, falls back to "torch" with a warning) or "torch";
        ``num_threads``: its intra-op threads; ``command_cache``: distinct commands whose
        tokens are kept; ``warm_up``: run :meth:`warm_up` now, so the first command is as fast as
        later ones."""
        super().__init__(name, hfov if hfov is not None else model.config.hfov, presence_threshold)
        if device != "cpu" and serving == "onnx":
            serving = "torch"  # the ONNX form runs on the CPU provider only
        self.model = model.to(device).eval()
        self.device = device
        self.serving = make_serving(self.model, serving, num_threads, command_cache)
        self.actions = [Action(a) for a in model.config.actions]
        self.search_turn = search_turn
        self.search_limit = float(search_limit)
        self.seen_frames = int(seen_frames)
        self.reset()
        if warm_up:
            self.warm_up()

    def warm_up(self, text: str = "warm up: go to the grey box") -> float:
        """Run the text tower and the serving form once on a blank frame, so that lazy
        initialisation (tokenizer, kernels, memory pools) is paid now and not by the first
        command. Returns the seconds it took. The warm-up text stays in the command cache."""
        t0 = time.perf_counter()
        cfg = self.model.config
        blank = np.zeros((1, cfg.image_height, cfg.image_width, 3), dtype=np.uint8)
        for _ in range(2):  # the second pass meets the allocations the first one made
            self.serving.predict(blank, [text])
        return time.perf_counter() - t0

    def select_action(self, observation: Observation) -> PolicyOutput:
        t0 = time.perf_counter()
        trivial = self._trivial(observation, t0)
        if trivial is not None:
            return trivial
        cfg = self.model.config
        image = resize_image(observation.frame.image, cfg.image_height, cfg.image_width)
        audio = None
        if cfg.use_audio and observation.audio is not None:
            audio = prepare_audio(observation.audio.samples, observation.audio.rate, cfg.audio_sample_rate,
                                  cfg.audio_max_seconds).to(self.device)
        command = observation.command
        if (command.text, command.stamp) != self._sequence_key:
            self._sequence_key, self._step = (command.text, command.stamp), 0
        steps = self._readings(command.text)[3]
        out = self.serving.predict(image[None], [steps[self._step] if steps else command.text], audio)
        presence = float(out.presence[0])
        grounding = self._grounding(observation, out.box[0].tolist(), presence)
        logits = out.action_logits[0].astype(np.float64)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        index = int(probs.argmax())
        action = self.actions[index]
        linear, angular = (float(v) for v in out.velocity[0])
        if not action.moves:
            linear = angular = 0.0
        elif grounding.target is not None:
            angular *= self._lens_gain(observation.frame, grounding.target)
        where = (f"at {np.degrees(grounding.target.bearing):+.0f} deg" if grounding.target
                 else "not in view")
        reason = f"{grounding.phrase} {where} (presence {presence:.2f})"
        plan = self._plan(command.text)  # the step this decision is about
        if action == Action.ARRIVED and self._step + 1 < len(steps):
            self._step += 1  # a sequence: the next step's object, searched for afresh
            self._searched, self._not_found, self._seen_streak = 0.0, False, 0
            reason += f"; step {self._step} of {len(steps)} done"
        if self._starts_new_search(command.text, command.stamp):
            self._command_key = (command.text, command.stamp)
            self._searched, self._not_found = 0.0, False
        if self._last_now is not None and self._last_angular:
            self._searched += abs(self._last_angular) * max(0.0, observation.now - self._last_now)
        self._last_now = observation.now
        if action == Action.SEARCH:
            linear = 0.0
            if self.search_turn is not None:
                angular = self.search_turn
            if self._not_found or self._searched >= self.search_limit:
                self._not_found = True
                action, linear, angular = Action.NOT_FOUND, 0.0, 0.0
                reason = f"no {grounding.phrase} after turning {math.degrees(self._searched):.0f} deg"
            self._seen_streak = 0
        else:
            # Only a target seen for a few frames in a row ends the search: one false
            # positive while turning must not restart the full-turn count.
            self._seen_streak += 1
            if self._seen_streak >= self.seen_frames:
                self._searched = 0.0
        self._last_angular = angular if action == Action.SEARCH else 0.0
        decision = Decision(action, float(probs[index]), reason, linear, angular,
                            latency_ms=(time.perf_counter() - t0) * 1e3, stamp=observation.now,
                            policy=self.name, plan=plan)
        return PolicyOutput(grounding, decision)

    def _plan(self, text: str) -> Optional[dict]:
        plan = self._readings(text)[2]
        return dict(plan, active=self._step) if plan is not None else None

    def _lens_gain(self, frame, target: Candidate) -> float:
        """The model learnt to steer with the training camera (``config.hfov``); the same image
        offset is a different bearing through another lens, so the turn is scaled by the ratio of
        the target's bearing through this frame's intrinsics to its bearing through the training
        lens (bounded, and 1 near the centre where the ratio means little)."""
        if frame.camera is None:
            return 1.0
        trained = camera_for(frame.width, frame.height, None, self.model.config.hfov)
        x = (target.box[0] + target.box[2]) / 2.0
        assumed = trained.bearing(x)
        if abs(assumed) < 0.02:
            return 1.0
        return min(4.0, max(0.25, target.bearing / assumed))

    def _starts_new_search(self, text: str, stamp: float) -> bool:
        """A different command starts a new search; the same text sent again does so only once
        the last search ended in ``not_found`` (a retry), so repeating a command cannot keep the
        robot turning."""
        if self._command_key is None or text != self._command_key[0]:
            return True
        return self._not_found and stamp != self._command_key[1]

    def reset(self) -> None:
        """Forget per-episode state (search progress); the text cache stays (it depends only on the text)."""
        self._command_key: Optional[tuple[str, float]] = None
        self._sequence_key: Optional[tuple[str, float]] = None
        self._step = 0  # the active step of a sequence
        self._searched = 0.0
        self._not_found = False
        self._last_now: Optional[float] = None
        self._last_angular = 0.0
        self._seen_streak = 0


class ZeroShotPolicy(_PolicyBase):
    """CLIP patch-text grounding + ``core.steering`` (no trained heads)."""

    def __init__(self, checkpoint: Union[str, Path], device: str = "cpu", name: str = "fusion",
                 presence_threshold: float = 0.5, hfov: float = 1.047,
                 steering: Optional[SteeringConfig] = None, **grounder_options) -> None:
        from ..model.zero_shot import ZeroShotClipGrounder
        super().__init__(name, hfov, presence_threshold)
        self.grounder = ZeroShotClipGrounder(checkpoint, device=device, **grounder_options)
        self.steering = steering or SteeringConfig()

    def select_action(self, observation: Observation) -> PolicyOutput:
        t0 = time.perf_counter()
        trivial = self._trivial(observation, t0)
        if trivial is not None:
            return trivial
        image = observation.frame.image
        images = prepare_frame(image, image.shape[0], image.shape[1])
        result = self.grounder.ground(images, [observation.command.text])[0]
        grounding = self._grounding(observation, result.box, result.presence)
        frame = observation.frame
        lens = camera_for(frame.width, frame.height, frame.camera, self.hfov)
        action, linear, angular, reason = steer(grounding.target, frame.height, self.steering, lens=lens)
        decision = Decision(action, float(result.presence if grounding.target else 1.0 - result.presence),
                            reason, linear, angular, latency_ms=(time.perf_counter() - t0) * 1e3,
                            stamp=observation.now, policy=self.name)
        return PolicyOutput(grounding, decision)


def load_fusion_policy(checkpoint: Optional[Union[str, Path]] = None, device: str = "cpu",
                       **kw) -> Union[FusionPolicy, ZeroShotPolicy]:
    """Build the "fusion" policy.

    ``checkpoint``: a ``FusionModel.save_pretrained`` directory (default: the bundled
    ``resources/checkpoints/fusion_default``) or a CLIP checkpoint directory (zero-shot).
    Keyword options: ``name``, ``presence_threshold``, ``hfov``; for a trained checkpoint also
    ``serving`` and ``warm_up`` (:class:`FusionPolicy`); for zero-shot
    ``steering`` and the :class:`ZeroShotClipGrounder` options; ``num_threads`` sets torch's
    and the serving form's intra-op threads (the fusion node runs with 1); ``cache_size`` bounds the
    per-command caches (default 256 commands); ``allow_download`` lets a checkpoint that names a hub
    model fetch it (default: local files only).
    """
    allow_downloads(bool(kw.pop("allow_download", False)))
    cache_size = int(kw.pop("cache_size", COMMAND_CACHE_SIZE))
    threads = kw.get("num_threads")
    if threads:
        torch.set_num_threads(int(threads))
    path = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT  # "" (a ROS parameter default) too
    config_file = path / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"no fusion checkpoint at {path} (expected config.json there); "
                                "train one with `mm-robot train` or pass checkpoint=DIR")
    model_type = json.loads(config_file.read_text()).get("model_type")
    if model_type == "clip":
        kw.pop("num_threads", None)
        return ZeroShotPolicy(path, device=device, cache_size=cache_size, **kw)
    overrides = kw.pop("overrides", {}) or {}
    model = FusionModel.from_pretrained(path, **overrides).for_inference(cache_size)
    return FusionPolicy(model, device=device, command_cache=cache_size, **kw)
