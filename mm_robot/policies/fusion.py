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
from typing import NamedTuple, Optional, Union

import numpy as np
import torch

from ..core.camera_model import camera_for
from ..core.commands import is_stop, parse
from ..core.lru import LRUCache
from ..core.plan import Description, Reference, StickyPick, Thing
from ..core.records import Action, Candidate, Decision, Grounding, Observation, PolicyOutput
from ..core.steering import SteeringConfig, steer
from ..model.hub import allow_downloads
from ..model.modeling import FusionModel
from ..model.processing import prepare_audio, prepare_frame, resize_image
from ..model.serving import COMMAND_CACHE_SIZE, make_serving
from .scene_reading import heads_for, queries_for, read_scene
from .zoom import in_frame, magnified

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "resources" / "checkpoints" / "fusion_default"


class _Step(NamedTuple):
    """What one frame decides, before the search bookkeeping."""

    grounding: Grounding
    action: Action
    confidence: float
    linear: float
    angular: float


def _pixel_box(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (float(v) for v in box)
    px = (int(round(min(max(x0, 0.0), 1.0) * width)), int(round(min(max(y0, 0.0), 1.0) * height)),
          int(round(min(max(x1, 0.0), 1.0) * width)), int(round(min(max(y1, 0.0), 1.0) * height)))
    return px[0], px[1], max(px[2], px[0]), max(px[3], px[1])


class _Reading(NamedTuple):
    """How a command reads, cached per command string."""

    stop: bool  # it holds a stop word
    phrases: tuple[str, ...]  # what a grounding names, per step (one for a plain command)
    plan: Optional[dict]  # the plan the words read as (decision JSON), None for no plan
    steps: tuple[str, ...]  # the texts of a sequence's steps, empty for one step
    references: tuple[Reference, ...]  # the reference of each step, empty without a plan


def _read_command(text: str) -> _Reading:
    """A plain reference is grounded by the model from the step's whole sentence (``grounded_by``:
    "model"); a relation, an ordinal or an exclusion by the model object by object and the
    resolver (``scene_reading``); a sequence is fed to either one step at a time."""
    intent = parse(text)
    plan = intent.plan
    references = tuple(plan.steps) if plan is not None else ()
    composed = any(r.form != "plain" for r in references)
    plan_json = (dict(plan.to_json(0), grounded_by="model + resolver" if composed else "model")
                 if plan is not None else None)
    steps = tuple(s.text for s in plan.steps) if plan is not None and plan.is_sequence else ()
    phrases = tuple(r.head.label or intent.label or text for r in references[:len(steps)]) or (intent.label or text,)
    return _Reading(is_stop(text), phrases, plan_json, steps, references)


class _PolicyBase:
    name = "fusion"

    def __init__(self, name: str, hfov: float, presence_threshold: float) -> None:
        self.name = name
        self.hfov = float(hfov)
        self.presence_threshold = float(presence_threshold)
        self._readings: LRUCache[str, _Reading] = LRUCache(COMMAND_CACHE_SIZE, _read_command)
        self._step = 0  # the active step of a sequence

    def _trivial(self, observation: Observation, t0: float) -> Optional[PolicyOutput]:
        """No command -> idle; a stop word -> stop (text may always ask to stop, never force motion)."""
        command = observation.command
        if command is None or not command.text.strip():
            reason, action = "no command", Action.IDLE
        elif self._readings(command.text).stop:
            reason, action = "stop word in command", Action.STOP
        else:
            return None
        return PolicyOutput(None, Decision(action, 1.0, reason, latency_ms=(time.perf_counter() - t0) * 1e3,
                                           stamp=observation.now, policy=self.name))

    def _phrase(self, text: str) -> str:
        """What the active step's grounding names."""
        phrases = self._readings(text).phrases
        return phrases[min(self._step, len(phrases) - 1)]

    def _lens(self, frame):
        return camera_for(frame.width, frame.height, frame.camera, self.hfov)  # camera_info's K if known

    def _candidate(self, frame, label: str, box_norm, score: float) -> Candidate:
        box = _pixel_box(box_norm, frame.width, frame.height)
        return Candidate(label, float(score), box, self._lens(frame).bearing((box[0] + box[2]) / 2.0))

    def _grounding(self, observation: Observation, candidates: tuple[Candidate, ...],
                   target: Optional[Candidate], presence: float) -> Grounding:
        frame = observation.frame
        return Grounding(phrase=self._phrase(observation.command.text), target=target,
                         candidates=candidates, stamp=frame.stamp, frame_id=frame.frame_id,
                         image_size=(frame.width, frame.height), presence=float(presence))

    def _one_box(self, observation: Observation, box_norm, presence: float) -> Grounding:
        """The grounding of one box (the most likely image token's), a target when ``presence``
        clears the threshold."""
        candidate = self._candidate(observation.frame, self._phrase(observation.command.text), box_norm, presence)
        target = candidate if presence >= self.presence_threshold else None
        return self._grounding(observation, (candidate,), target, presence)

    def reset(self) -> None:
        pass


class FusionPolicy(_PolicyBase):
    """Runs :class:`FusionModel` on the latest frame through a serving form (``serving.py``);
    the command's tokens are computed once per command string and cached (LRU)."""

    def __init__(self, model: FusionModel, device: str = "cpu", name: str = "fusion",
                 presence_threshold: float = 0.5, hfov: Optional[float] = None,
                 search_turn: Optional[float] = 0.7, search_limit: float = 2 * math.pi + 0.3,
                 seen_frames: int = 3, serving: str = "onnx", num_threads: int = 1,
                 command_cache: int = COMMAND_CACHE_SIZE, warm_up: bool = True, zoom: bool = True,
                 zoom_presence: float = 0.6, steering: Optional[SteeringConfig] = None,
                 search_memory: float = 3.0) -> None:
        """``search_turn``: turn rate (rad/s, positive = left, the oracle's convention) used while
        the model says ``search``; None uses the continuous head's angular output instead (a
        checkpoint trained with flip augmentation of search frames predicts ~0 there).
        ``search_limit``: after turning this far (rad) in search of the same command without
        finding it, report ``not_found`` and stop until the next command; the count restarts
        only after ``seen_frames`` consecutive frames that are not ``search``; a search within
        ``search_memory`` seconds of the target's last sighting turns toward where it was.
        ``serving``: "onnx" (ONNX Runtime, falls back to "torch" with a warning) or "torch";
        ``num_threads``: its intra-op threads; ``command_cache``: distinct commands whose
        tokens are kept; ``warm_up``: run :meth:`warm_up` now, so the first command is as fast as
        later ones. ``zoom``: look for a target the whole frame does not show, or shows cut by its
        edge, in magnified crops (``zoom_presence``: how sure a crop must be). ``steering``: how a
        target found in a crop or picked by the resolver (relations, ordinals, exclusions) is
        driven to."""
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
        self.search_memory = float(search_memory)
        self.zoom = bool(zoom)
        self.zoom_presence = float(zoom_presence)
        self.steering = steering or SteeringConfig()
        self._pick = StickyPick()
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
        read_scene(self.model, blank[0], queries_for(Reference(Description())))  # every query's tokens
        return time.perf_counter() - t0

    def select_action(self, observation: Observation) -> PolicyOutput:
        t0 = time.perf_counter()
        trivial = self._trivial(observation, t0)
        if trivial is not None:
            return trivial
        cfg = self.model.config
        audio = None
        if cfg.use_audio and observation.audio is not None:
            audio = prepare_audio(observation.audio.samples, observation.audio.rate, cfg.audio_sample_rate,
                                  cfg.audio_max_seconds).to(self.device)
        command = observation.command
        if (command.text, command.stamp) != self._sequence_key:
            self._sequence_key, self._step = (command.text, command.stamp), 0
            self._pick.reset()
            self._last_seen = None  # where the last command's target was says nothing about this one
        reading = self._readings(command.text)
        reference = reading.references[self._step] if reading.references else None
        if reference is not None and reference.form != "plain":
            step = self._composed(observation, reference)
        else:
            text = reading.steps[self._step] if reading.steps else command.text
            step = self._grounded(observation, text, audio)
        grounding, action, confidence, linear, angular = step
        where = (f"at {np.degrees(grounding.target.bearing):+.0f} deg" if grounding.target
                 else "not in view")
        reason = f"{grounding.phrase} {where} (presence {grounding.presence:.2f})"
        plan = self._plan(command.text)  # the step this decision is about
        steps = reading.steps
        if grounding.target is not None:
            self._last_seen = (observation.now, grounding.target.bearing)
        if action == Action.ARRIVED and self._step + 1 < len(steps):
            self._step += 1  # a sequence: the next step's object, searched for afresh
            self._pick.reset()
            self._last_seen = None
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
                if self._last_seen is not None and observation.now - self._last_seen[0] <= self.search_memory:
                    angular = math.copysign(self.search_turn, self._last_seen[1])  # toward where it was
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
        decision = Decision(action, float(confidence), reason, linear, angular,
                            latency_ms=(time.perf_counter() - t0) * 1e3, stamp=observation.now,
                            policy=self.name, plan=plan)
        return PolicyOutput(grounding, decision)

    def _grounded(self, observation: Observation, text: str, audio: Optional[torch.Tensor]) -> _Step:
        """A plain reference: the model grounds ``text`` and its action head decides; a target it
        does not see in the whole frame is looked for again in magnified crops (:meth:`_zoomed`)."""
        cfg = self.model.config
        image = resize_image(observation.frame.image, cfg.image_height, cfg.image_width)
        out = self.serving.predict(image[None], [text], audio)
        presence = float(out.presence[0])
        grounding = self._one_box(observation, out.box[0].tolist(), presence)
        target, width = grounding.target, observation.frame.width
        cut = target is not None and (target.box[0] <= 0 or target.box[2] >= width)  # its shape half seen
        if self.zoom and (target is None or cut):
            zoomed = self._zoomed(observation, text)
            if zoomed is not None and zoomed.confidence > (presence if cut else 0.0):
                return zoomed
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
        return _Step(grounding, action, float(probs[index]), linear, angular)

    def _zoomed(self, observation: Observation, text: str) -> Optional[_Step]:
        """Coarse to fine (``zoom.py``): a target the whole frame does not show is looked for in
        magnified crops, in one batch; the likeliest find at least ``zoom_presence`` sure is steered to."""
        frame = observation.frame
        cfg = self.model.config
        batch, windows = magnified(frame.image, cfg.image_height, cfg.image_width)
        out = self.serving.predict(batch, [text] * len(windows))
        sure = max(self.zoom_presence, self.presence_threshold)  # never less sure than the whole frame
        finds = [(float(presence), box) for window, presence, crop_box in zip(windows, out.presence, out.box)
                 if presence >= sure and (box := in_frame(window, crop_box, frame.width, frame.height))]
        if not finds:
            return None
        presence, box = max(finds)
        target = self._candidate(frame, self._phrase(observation.command.text) + " (zoomed)", box, presence)
        grounding = self._grounding(observation, (target,), target, presence)
        action, linear, angular, _ = steer(target, frame.height, self.steering, lens=self._lens(frame))
        return _Step(grounding, action, presence, linear, angular)

    def _composed(self, observation: Observation, reference: Reference) -> _Step:
        """A relation, an ordinal or an exclusion: the model grounds every object the reference's
        words may mean (``scene_reading``), the resolver picks one (kept once picked), and
        ``core.steering`` drives to it."""
        frame = observation.frame
        lens = self._lens(frame)
        found = read_scene(self.model, frame.image, queries_for(reference), self.presence_threshold,
                           heads_for(reference) if self.zoom else ())
        candidates = [self._candidate(frame, f"{f.colour} {f.shape}", f.box, f.score) for f in found]
        things = [Thing.seen(str(i), f.colour, f.shape, c.box, lens) for i, (f, c) in enumerate(zip(found, candidates))]
        ranked = [candidates[int(t.key)] for t in self._pick.rank(reference, things)]
        target = ranked[0] if ranked else None
        others = tuple(c for c in candidates if c is not target)
        grounding = self._grounding(observation, ((target,) if target else ()) + others, target,
                                    target.score if target else 0.0)
        action, linear, angular, _ = steer(target, frame.height, self.steering, lens=lens)
        return _Step(grounding, action, target.score if target else 0.6, linear, angular)

    def _plan(self, text: str) -> Optional[dict]:
        plan = self._readings(text).plan
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
        self._last_seen: Optional[tuple[float, float]] = None  # (when, bearing) the target was last in view


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
        grounding = self._one_box(observation, result.box, result.presence)
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
    ``serving``, ``warm_up`` and ``zoom`` (:class:`FusionPolicy`); for zero-shot
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
        kw.pop("zoom", None)  # the zero-shot grounder works at the frame's own size
        return ZeroShotPolicy(path, device=device, cache_size=cache_size, **kw)
    overrides = kw.pop("overrides", {}) or {}
    model = FusionModel.from_pretrained(path, **overrides).for_inference(cache_size)
    return FusionPolicy(model, device=device, command_cache=cache_size, **kw)
