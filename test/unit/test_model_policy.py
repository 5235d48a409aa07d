"""The "fusion" policy: the Policy contract, pixels and bearings, per-command text caching."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mm_robot.core.records import Action, Command, Decision, Frame, Grounding, Observation, PolicyOutput
from mm_robot.core.steering import bearing_of
from mm_robot.model import FusionModel, box_iou, tiny_config
from mm_robot.policies import make_policy
from mm_robot.policies.base import Policy
from mm_robot.policies.fusion import FusionPolicy, load_fusion_policy


@pytest.fixture()
def checkpoint(tmp_path):
    torch.manual_seed(0)
    FusionModel(tiny_config(hfov=1.2)).save_pretrained(tmp_path / "ck")
    return tmp_path / "ck"


def _obs(text, width=160, height=120, now=2.0):
    image = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
    command = Command(text, 1.0) if text is not None else None
    return Observation(Frame(image, stamp=1.9, frame_id="cam"), command, now=now)


def test_policy_registry_builds_the_fusion_policy_from_a_checkpoint(checkpoint):
    policy = make_policy("fusion", checkpoint=str(checkpoint))
    assert isinstance(policy, FusionPolicy)
    assert isinstance(policy, Policy)
    assert policy.name == "fusion"
    assert policy.model.serving  # loaded in its serving form (folded batch norms)


def test_output_contract_boxes_in_pixels_and_bearing_from_the_box(checkpoint):
    policy = load_fusion_policy(checkpoint, presence_threshold=0.0)
    out = policy.select_action(_obs("go to the red ball"))
    assert isinstance(out, PolicyOutput)
    g, d = out.grounding, out.decision
    assert isinstance(g, Grounding) and isinstance(d, Decision)
    assert g.phrase == "red ball" and g.frame_id == "cam" and g.stamp == 1.9
    assert g.image_size == (160, 120)
    assert g.target is not None and g.candidates[0] == g.target
    x0, y0, x1, y1 = g.target.box
    assert 0 <= x0 <= x1 <= 160 and 0 <= y0 <= y1 <= 120
    assert all(isinstance(v, int) for v in g.target.box)
    assert g.target.bearing == pytest.approx(bearing_of((x0 + x1) / 2, 160, 1.2))
    assert 0.0 <= g.presence <= 1.0 and g.target.score == pytest.approx(g.presence)
    assert d.action.value in policy.model.config.actions
    assert 0.0 <= d.confidence <= 1.0 and d.policy == "fusion" and d.stamp == 2.0
    assert d.latency_ms > 0 and math.isfinite(d.linear) and math.isfinite(d.angular)
    if not d.action.moves:
        assert d.linear == 0.0 and d.angular == 0.0
    g.to_json(), d.to_json()  # serialisable


def test_presence_threshold_decides_not_in_view(checkpoint):
    out = load_fusion_policy(checkpoint, presence_threshold=1.01).select_action(_obs("go to the red ball"))
    assert out.grounding.target is None
    assert out.grounding.candidates and out.grounding.presence < 1.01


@pytest.mark.parametrize("serving", ["onnx", "torch"])
def test_no_command_is_idle_and_stop_words_stop_without_running_the_model(checkpoint, serving):
    policy = load_fusion_policy(checkpoint, serving=serving)
    calls = []
    predict = policy.serving.predict
    policy.serving.predict = lambda *a, **k: calls.append(1) or predict(*a, **k)
    idle = policy.select_action(_obs(None))
    assert idle.decision.action == Action.IDLE and idle.grounding is None
    stop = policy.select_action(_obs("please stop now"))
    assert stop.decision.action == Action.STOP and stop.decision.linear == 0.0 and stop.decision.angular == 0.0
    assert calls == []
    policy.select_action(_obs("go to the red ball"))
    assert calls == [1]


@pytest.mark.parametrize("serving", ["onnx", "torch"])
def test_text_is_encoded_once_per_command(checkpoint, serving):
    policy = load_fusion_policy(checkpoint, serving=serving)
    calls = []
    policy.model.text.register_forward_hook(lambda *_: calls.append(1))
    for _ in range(3):
        policy.select_action(_obs("go to the red ball"))
    assert len(calls) == 1
    policy.select_action(_obs("find the blue box"))
    assert len(calls) == 2
    policy.reset()


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no fusion checkpoint"):
        load_fusion_policy(tmp_path / "nothing")


def test_bundled_default_checkpoint_is_small_safetensors_and_loads():
    from mm_robot.policies.fusion import DEFAULT_CHECKPOINT
    names = {p.name for p in DEFAULT_CHECKPOINT.iterdir()}
    assert {"config.json", "model.safetensors", "README.md"} <= names
    assert not any(n.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt")) for n in names)
    assert (DEFAULT_CHECKPOINT / "model.safetensors").stat().st_size < 5_000_000
    policy = load_fusion_policy("")  # the ROS parameter default means "bundled"
    assert policy.model.config.text_encoder == "minilm" and policy.model.text_frozen
    out = policy.select_action(_obs("go to the red ball", width=320, height=240))
    assert out.grounding.image_size == (320, 240)
    assert out.decision.action.value in policy.model.config.actions


def _always(policy, action: str) -> None:
    head = policy.model.action_head[-1]
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[policy.model.config.actions.index(action)] = 10.0


def test_search_turns_left_and_gives_up_after_a_full_turn(checkpoint):
    policy = load_fusion_policy(checkpoint, search_turn=0.7, serving="torch")  # _always edits weights
    _always(policy, "search")
    obs = lambda text, now, stamp=1.0: Observation(_obs(text).frame, Command(text, stamp), now=now)  # noqa: E731
    first = policy.select_action(obs("go to the red ball", 0.0)).decision
    assert first.action == Action.SEARCH and first.angular == 0.7 and first.linear == 0.0
    t = 0.0
    while t < 9.0:  # 9 s x 0.7 rad/s = 6.3 rad < 2 pi + 0.3
        t += 0.5
        assert policy.select_action(obs("go to the red ball", t)).decision.action == Action.SEARCH
    t += 1.0
    gave_up = policy.select_action(obs("go to the red ball", t)).decision
    assert gave_up.action == Action.NOT_FOUND and gave_up.angular == 0.0
    assert policy.select_action(obs("go to the red ball", t + 5)).decision.action == Action.NOT_FOUND
    # A new command (or a reset) searches again.
    assert policy.select_action(obs("go to the red ball", t + 6, stamp=2.0)).decision.action == Action.SEARCH
    policy.reset()
    assert policy.select_action(obs("go to the red ball", t + 7, stamp=2.0)).decision.angular == 0.7


def test_seeing_the_target_for_a_few_frames_resets_the_search(checkpoint):
    # 2 rad at 0.7 rad/s; _always edits weights, which only the PyTorch form sees
    policy = load_fusion_policy(checkpoint, search_limit=2.0, seen_frames=3, serving="torch")
    obs = lambda now: Observation(_obs("go to the red ball").frame, Command("go to the red ball", 1.0), now=now)  # noqa: E731

    def search_then_see(frames_seen: int) -> Action:
        policy.reset()
        _always(policy, "search")
        for k in range(6):  # 0 .. 2.5 s: 1.75 rad turned
            policy.select_action(obs(k * 0.5))
        _always(policy, "forward")
        for k in range(frames_seen):
            assert policy.select_action(obs(3.0 + k * 0.1)).decision.action == Action.FORWARD
        _always(policy, "search")
        return policy.select_action(obs(4.0)).decision.action

    assert search_then_see(1) == Action.NOT_FOUND  # one (false) sighting does not restart the count
    assert search_then_see(3) == Action.SEARCH



@pytest.fixture(scope="module")
def rendered_scene():
    """A fresh MuJoCo scene (not from the dataset): a near red ball on the left, a blue box on the
    right and a smaller red box behind, between them. Returns (frame, name -> true pixel box)."""
    pytest.importorskip("mujoco")
    from mm_robot.sim.spec import CameraSpec, ObjectSpec, Pose2D, Randomisation, SceneSpec
    from mm_robot.sim.world import World

    objects = (ObjectSpec("red_ball", "red", "ball", 1.6, 0.45, 0.35),
               ObjectSpec("blue_box", "blue", "box", 1.5, -0.45, 0.35),
               ObjectSpec("red_box", "red", "box", 2.4, 0.0, 0.35))
    scene = SceneSpec(objects=objects, camera=CameraSpec(320, 240, math.radians(60.0)),
                      randomisation=Randomisation(seed=7, lighting=False, floor=False))
    world = World(scene)
    try:
        world.reset(Pose2D(0.0, 0.0, 0.0))
        view = world.render()
        truth = world.ground_truth(view)
    finally:
        world.close()
    frame = Frame(np.ascontiguousarray(view.rgb), stamp=1.0, frame_id="cam")
    return frame, {o.name: o.box.as_tuple() for o in truth.objects}


def _ground(policy, frame, text):
    return policy.select_action(Observation(frame, Command(text, 1.0), now=1.1)).grounding


def _iou(a, b):
    return float(box_iou(torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)))


def _assert_finds(rendered_scene, cases):
    """The shipped policy grounds each (text, object name) on the object's true box (IoU >= 0.5)."""
    frame, boxes = rendered_scene
    policy = load_fusion_policy()
    for text, name in cases:
        grounding = _ground(policy, frame, text)
        assert grounding.target is not None, text
        assert _iou(grounding.target.box, boxes[name]) >= 0.5, (text, grounding.target.box, boxes[name])
    return policy, frame


def test_shipped_checkpoint_grounds_the_named_object_in_a_rendered_scene(rendered_scene):
    policy, frame = _assert_finds(rendered_scene, (("go to the red ball", "red_ball"),
                                                   ("find the blue box", "blue_box")))
    assert _ground(policy, frame, "go to the green cone").target is None
    assert _ground(policy, frame, "go to the red cylinder").target is None


def test_shipped_checkpoint_says_not_in_view_for_an_absent_lookalike(rendered_scene):
    """A shape that is absent while its colour is in view (and the reverse) is "not in view",
    not the look-alike: what the look-alike scenes of the training data are for."""
    frame, _ = rendered_scene
    policy = load_fusion_policy()
    for text in ("go to the blue ball", "find the blue capsule", "go to the red cone"):
        assert _ground(policy, frame, text).target is None, text


def test_shipped_checkpoint_reads_colour_words_it_never_saw_in_training(rendered_scene):
    """"scarlet" is a held-out synonym, "cornflower blue" and "ultramarine" are in no training
    phrasing: the colour lexicon places them (docs/model.md)."""
    from mm_robot.training.phrasing import EXTRA_COLOUR_WORDS, survey_colour_words
    trained = {w for table in (EXTRA_COLOUR_WORDS, survey_colour_words()) for words in table.values() for w in words}
    assert not trained & {"scarlet", "cornflower blue", "ultramarine"}
    _assert_finds(rendered_scene, (("go to the scarlet ball", "red_ball"),
                                   ("go to the cornflower blue box", "blue_box"),
                                   ("go to the ultramarine box", "blue_box")))


def test_shipped_checkpoint_tells_shapes_of_one_colour_apart(rendered_scene):
    """The smaller red box behind a near red ball (run D grounded the ball for "drive to the red box")."""
    _assert_finds(rendered_scene, (("drive to the red box", "red_box"), ("go to the red cube", "red_box"),
                                   ("can you approach the small red box", "red_box")))


def test_shipped_checkpoint_tells_shapes_apart_under_colour_and_shape_synonyms(rendered_scene):
    """Run F grounded the nearer, bigger red ball for "go to the crimson box" and saw nothing for
    "the ruby carton"; the shape token keeps the box."""
    _assert_finds(rendered_scene, (("go to the crimson box", "red_box"), ("go to the ruby carton", "red_box")))


def test_shipped_checkpoint_reads_shape_words_it_never_saw_in_training(rendered_scene):
    """"block" and "orb" are held-out synonyms: only the WordNet shape lexicon knows them."""
    from mm_robot.training.phrasing import EXTRA_SHAPE_WORDS, lexicon_shape_words
    trained = {w for table in (EXTRA_SHAPE_WORDS, lexicon_shape_words()) for words in table.values() for w in words}
    assert not trained & {"block", "orb"}
    _assert_finds(rendered_scene, (("go to the blue block", "blue_box"), ("find the red orb", "red_ball")))


def test_shipped_checkpoint_tells_shapes_of_one_colour_apart_under_a_held_out_shape_word(rendered_scene):
    """Run G grounded the nearer, bigger red ball for "go to the red block" (a held-out word) and
    "go to the red dice"; run I, fine-tuned on twice the frames, finds the box."""
    _assert_finds(rendered_scene, (("go to the red block", "red_box"), ("go to the red dice", "red_box")))


def test_camera_info_sets_bearings_and_the_plan_rides_on_the_decision(checkpoint):
    from mm_robot.core.camera_model import CameraModel
    policy = load_fusion_policy(checkpoint, presence_threshold=0.0, zoom=False)
    plain = policy.select_action(_obs("go to the red ball"))
    lens = CameraModel.from_hfov(160, 120, math.radians(100.0))
    observation = _obs("go to the red ball")
    wide = policy.select_action(Observation(Frame(observation.frame.image, 1.9, "cam", camera=lens),
                                            observation.command, now=2.0))
    x0, _, x1, _ = wide.grounding.target.box
    assert wide.grounding.target.bearing == pytest.approx(lens.bearing((x0 + x1) / 2))
    assert plain.grounding.target.bearing == pytest.approx(bearing_of((x0 + x1) / 2, 160, 1.2))
    plan = wide.decision.to_json()["plan"]
    assert plan["grounded_by"] == "model" and plan["steps"][0]["form"] == "plain"
    related = policy.select_action(_obs("go to the ball left of the red box")).decision.to_json()["plan"]
    assert related["grounded_by"] == "model + resolver" and related["steps"][0]["relation"] == "left_of"


def test_a_target_the_whole_frame_misses_is_looked_for_in_magnified_crops(checkpoint):
    """Nothing in the whole frame, the middle crop sure of it: the box is mapped back to the frame
    and steered to; nothing sure enough in any crop: the model's own (search) decision stands."""
    from types import SimpleNamespace
    policy = load_fusion_policy(checkpoint, zoom_presence=0.6)
    actions = list(policy.model.config.actions)
    crop_presence = [0.3, 0.9, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1]
    seen = []

    def predict(images, texts, audio=None):
        seen.append(images.shape)
        b = len(images)
        logits = np.full((b, len(actions)), -5.0, np.float32)
        logits[:, actions.index("search")] = 5.0
        presence = np.array([0.1]) if b == 1 else np.array(crop_presence)
        return SimpleNamespace(presence=presence, box=np.tile([[0.5, 0.5, 0.75, 0.75]], (b, 1)),
                               action_logits=logits, velocity=np.zeros((b, 2), np.float32))

    policy.serving = SimpleNamespace(predict=predict)
    out = policy.select_action(_obs("go to the red ball", width=160, height=120))
    assert seen == [(1, 32, 48, 3), (8, 32, 48, 3)]  # the frame, then the crops in one batch
    # the middle crop spans x 40..120, y 30..90 of the 160 x 120 frame: its (0.5..0.75) box is x 80..100
    assert out.grounding.target.box == (80, 60, 100, 75)
    assert "zoomed" in out.grounding.target.label
    assert out.decision.action in (Action.FORWARD, Action.TURN_RIGHT) and out.decision.confidence == 0.9
    crop_presence[:] = [0.3, 0.5, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1]
    policy.reset()
    assert policy.select_action(_obs("go to the red ball")).decision.action == Action.SEARCH


def test_instances_keep_a_second_object_of_one_description_and_drop_its_neighbouring_tokens():
    from mm_robot.policies.scene_reading import instances
    logits = np.full(5, -4.0, np.float32)
    logits[[0, 1, 3]] = [6.0, 5.8, 2.5]  # token 1 lies inside token 0's box: the same object
    boxes = np.array([[0.0, 0.0, 0.3, 0.3], [0.1, 0.1, 0.25, 0.25], [0.4, 0.4, 0.5, 0.5],
                      [0.6, 0.6, 0.9, 0.9], [0.0, 0.5, 0.1, 0.6]], np.float32)
    null = -2.0
    found = instances(np.append(logits, null), boxes, presence=0.95)
    assert [tuple(b) for b, _ in found] == [tuple(boxes[0]), tuple(boxes[3])]
    assert found[0][1] == pytest.approx(0.95) and found[1][1] == pytest.approx(0.95 / (1 + math.exp(-4.5)))
    assert instances(np.append(logits, null), boxes, presence=0.3) == []  # the query's object is not in view
    logits[3] = -0.5  # alone not clearly likelier than "not in view": no second instance
    assert len(instances(np.append(logits, null), boxes, presence=0.95)) == 1


def test_queries_cover_what_a_reference_may_mean():
    from mm_robot.core.language import understand
    from mm_robot.policies.scene_reading import queries_for
    step, = understand("go to the ball next to the yellow cone").plan.steps
    pairs = queries_for(step)
    assert ("yellow", "cone") in pairs and ("red", "ball") in pairs and ("red", "cone") not in pairs
    step, = understand("go to anything but the red ones").plan.steps
    assert len(queries_for(step)) == 45  # nine colours x five shapes


def test_a_sequence_is_grounded_one_step_at_a_time(checkpoint):
    from types import SimpleNamespace
    policy = load_fusion_policy(checkpoint, presence_threshold=0.0)
    actions = list(policy.model.config.actions)
    asked = []

    def predict(images, texts, audio=None):
        asked.append(texts[0])
        logits = np.full((1, len(actions)), -5.0, np.float32)
        logits[0, actions.index("arrived")] = 5.0
        return SimpleNamespace(presence=np.array([0.9]), box=np.array([[0.3, 0.2, 0.7, 0.9]]),
                               action_logits=logits, velocity=np.zeros((1, 2), np.float32))

    policy.serving = SimpleNamespace(predict=predict)
    text = "go to the red ball and then the blue box"
    first = policy.select_action(_obs(text))
    second = policy.select_action(_obs(text, now=2.1))
    assert asked == ["go to the red ball", "the blue box"]
    assert first.decision.plan["active"] == 0 and second.decision.plan["active"] == 1
    assert "step 1 of 2 done" in first.decision.reason
    assert (first.grounding.phrase, second.grounding.phrase) == ("red ball", "blue box")  # the active step's


@pytest.mark.parametrize("text, name", [
    ("go to the leftmost box", "red_box"), ("go to the nearest box", "blue_box"),
    ("go to anything but the red ones", "blue_box"), ("go to the box left of the blue box", "red_box"),
    ("go to the rightmost red thing", "red_box"),
])
def test_shipped_checkpoint_grounds_compositional_commands_object_by_object(rendered_scene, text, name):
    """Relations, ordinals and exclusions: the model grounds each object the words may mean, the
    resolver picks (two boxes and two red objects in view)."""
    frame, boxes = rendered_scene
    policy = load_fusion_policy()
    grounding = _ground(policy, frame, text)
    assert grounding.target is not None, text
    assert _iou(grounding.target.box, boxes[name]) >= 0.5, (text, grounding.target, boxes)


def test_a_zoomed_find_counts_only_when_small_and_clear_of_its_crops_edges():
    from mm_robot.policies.zoom import MAX_HEIGHT, crops_of, in_frame
    windows = crops_of(320, 240)
    left, middle = windows[0], windows[1]  # x 0..160 and 80..240, y 60..180
    assert in_frame(middle, (0.4, 0.4, 0.5, 0.55), 320, 240) == pytest.approx((0.45, 0.45, 0.5, 0.525))
    assert in_frame(middle, (0.0, 0.4, 0.1, 0.55), 320, 240) is None  # cut by the crop's left edge
    assert in_frame(left, (0.0, 0.4, 0.1, 0.55), 320, 240) is None  # and by the frame's
    assert in_frame(left, (0.05, 0.4, 0.1, 0.55), 320, 240) is not None
    assert in_frame(middle, (0.4, 0.1, 0.5, 0.1 + 2.1 * MAX_HEIGHT), 320, 240) is None  # the frame's to find


def test_a_search_turns_toward_where_the_target_was_last_seen_and_forgets_it_on_a_new_command(checkpoint):
    from types import SimpleNamespace
    policy = load_fusion_policy(checkpoint, zoom=False)
    actions = list(policy.model.config.actions)
    state = {"presence": 0.9, "action": "turn_right"}

    def predict(images, texts, audio=None):
        logits = np.full((1, len(actions)), -5.0, np.float32)
        logits[0, actions.index(state["action"])] = 5.0
        return SimpleNamespace(presence=np.array([state["presence"]]), box=np.array([[0.8, 0.4, 0.9, 0.6]]),
                               action_logits=logits, velocity=np.zeros((1, 2), np.float32))

    policy.serving = SimpleNamespace(predict=predict)
    policy.select_action(_obs("go to the red ball", now=2.0))  # seen on the right
    state.update(presence=0.1, action="search")
    assert policy.select_action(_obs("go to the red ball", now=2.1)).decision.angular < 0  # turns right
    assert policy.select_action(_obs("go to the red ball", now=5.5)).decision.angular > 0  # too long ago: left
    other = _obs("go to the red ball", now=2.3)
    policy.select_action(_obs("go to the red ball", now=5.6))
    state.update(presence=0.9, action="turn_right")
    policy.select_action(_obs("go to the red ball", now=5.7))
    state.update(presence=0.1, action="search")
    new = Observation(other.frame, Command("go to the blue box", 5.75), now=5.8)
    assert policy.select_action(new).decision.angular > 0  # a new command's search starts left
