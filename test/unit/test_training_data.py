"""Data generation: splits mean what they say, determinism by seed, resume, batches and flips."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from mm_robot.core.records import Action
from mm_robot.training.datagen import datagen_main, generate
from mm_robot.training.dataset import load_split, make_batch, read_index, read_shard
from mm_robot.training.painter import paint_scene
from mm_robot.training.scenes import (
    CONFUSER_RATE,
    HELD_OUT_COMBOS,
    HELD_OUT_SYNONYMS,
    PARAPHRASE_TEMPLATES,
    SEEN_COMBOS,
    TRAIN_SYNONYMS,
    TRAIN_TEMPLATES,
    expert_label,
    sample_spec,
    scene_objects,
)

COUNTS = {"train": 60, "val": 20, "seen": 20, "unseen_combo": 20, "paraphrase": 20, "distractors": 20, "lighting": 20,
          "confusers": 20}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    generate(root, COUNTS, seed=3, source="painter", shard_size=40, height=48, width=64, progress=False)
    return root


def test_index_lists_every_split_with_its_count(dataset):
    index = read_index(dataset)
    assert index["counts"] == COUNTS
    assert index["image_size"] == [48, 64] and index["source"] == "painter"
    assert [e["file"] for e in index["splits"]["train"]] == ["train-00000.npz", "train-00001.npz"]
    data = load_split(dataset, "train")
    assert data.images.shape == (60, 48, 64, 3) and data.images.dtype == np.uint8
    assert ((data.boxes >= 0) & (data.boxes <= 1)).all()
    assert set(data.actions) <= {a.value for a in Action}
    present = data.present > 0.5
    assert (data.boxes[present, 2] > data.boxes[present, 0]).all()
    assert (data.boxes[~present] == 0).all()


def test_same_seed_same_data_and_rerun_resumes(dataset, tmp_path):
    generate(tmp_path, {"train": 40}, seed=3, source="painter", shard_size=40, height=48, width=64, progress=False)
    a = read_shard(dataset / "train-00000.npz")
    b = read_shard(tmp_path / "train-00000.npz")
    assert np.array_equal(a["image"], b["image"]) and list(a["text"]) == list(b["text"])
    stamp = (tmp_path / "train-00000.npz").stat().st_mtime_ns
    generate(tmp_path, {"train": 80}, seed=3, source="painter", shard_size=40, height=48, width=64, progress=False)
    assert (tmp_path / "train-00000.npz").stat().st_mtime_ns == stamp  # kept, not remade
    assert read_index(tmp_path)["counts"] == {"train": 80}
    with pytest.raises(ValueError, match="other settings"):
        generate(tmp_path, {"train": 40}, seed=4, source="painter", shard_size=40, height=48, width=64, progress=False)


def test_other_seed_other_data(dataset, tmp_path):
    generate(tmp_path, {"train": 40}, seed=5, source="painter", shard_size=40, height=48, width=64, progress=False)
    assert not np.array_equal(read_shard(dataset / "train-00000.npz")["image"],
                              read_shard(tmp_path / "train-00000.npz")["image"])


def test_held_out_combos_only_in_the_unseen_split(dataset):
    held = {f"{c} {s}" for c, s in HELD_OUT_COMBOS}
    for split in ("train", "val", "seen", "paraphrase", "distractors", "lighting", "confusers"):
        assert not held & set(load_split(dataset, split).labels)
    unseen = load_split(dataset, "unseen_combo")
    assert set(unseen.labels) <= held and unseen.labels
    rng = random.Random(0)
    for _ in range(300):
        spec = sample_spec(rng, "train")
        assert not HELD_OUT_COMBOS & set(spec.distractors)


def test_paraphrases_use_held_out_wording_and_distractor_split_is_crowded():
    rng = random.Random(1)
    train_words = {w for ws in TRAIN_SYNONYMS.values() for w in ws}
    held_words = {w for ws in HELD_OUT_SYNONYMS.values() for w in ws}
    assert not train_words & held_words
    train_prefixes = {t.split("{")[0] for t in TRAIN_TEMPLATES}
    for _ in range(100):
        para = sample_spec(rng, "paraphrase")
        assert para.kind == "goto"
        assert any(para.text.startswith(t.split("{")[0]) for t in PARAPHRASE_TEMPLATES)
        assert not set(para.text.replace("?", "").split()) & train_words
        assert 5 <= sample_spec(rng, "distractors").n_distractors <= 8
        assert sample_spec(rng, "train").n_distractors <= 3
    assert not any(t.split("{")[0] in train_prefixes for t in PARAPHRASE_TEMPLATES if t.split("{")[0])


def _has_lookalikes(target, others) -> bool:
    colour, shape = target
    return (any(c == colour and s != shape for c, s in others)
            and any(s == shape and c != colour for c, s in others))


def test_confuser_scenes_hold_lookalikes_and_the_named_object_only_half_the_time():
    rng = random.Random(4)
    specs = [sample_spec(rng, "confusers") for _ in range(400)]
    assert all(spec.kind == "goto" and _has_lookalikes(spec.target, spec.distractors) for spec in specs)
    assert all(spec.target not in spec.distractors for spec in specs)
    assert not HELD_OUT_COMBOS & {c for spec in specs for c in spec.distractors}
    assert 0.4 < np.mean([spec.target_in_view for spec in specs]) < 0.6
    # Training scenes are built around look-alikes at CONFUSER_RATE.
    target = ("red", "box")
    confusing = [_has_lookalikes(target, scene_objects(rng, "train", target, 0)[1]) for _ in range(2000)]
    assert abs(np.mean(confusing) - CONFUSER_RATE) < 0.04


def test_lookalikes_leave_the_evaluation_splits_as_they_were():
    """Only train and confusers scenes draw the extra random number, so the other held-out
    splits are the very frames they were before look-alikes existed (results stay comparable)."""
    target = ("blue", "ball")
    for split in ("seen", "paraphrase", "distractors", "lighting"):
        a, b = random.Random(9), random.Random(9)
        assert scene_objects(a, split, target, 3) == (True, b.sample([c for c in SEEN_COMBOS if c != target], 3))
        assert a.random() == b.random()


def test_expert_labels_follow_steering():
    rng = random.Random(2)
    spec = sample_spec(rng, "paraphrase")
    w, h, hfov = 128, 96, 1.047
    assert expert_label(spec, None, w, h, hfov)[0] == Action.SEARCH
    assert expert_label(spec, (0, 40, 20, 60), w, h, hfov)[0] == Action.TURN_LEFT
    assert expert_label(spec, (108, 40, 128, 60), w, h, hfov)[0] == Action.TURN_RIGHT
    forward = expert_label(spec, (60, 40, 68, 60), w, h, hfov)
    assert forward[0] == Action.FORWARD and forward[1] > 0
    assert expert_label(spec, (40, 10, 88, 90), w, h, hfov)[0] == Action.ARRIVED


def test_painted_box_covers_the_target_colour():
    rng = random.Random(4)
    for _ in range(30):
        spec = sample_spec(rng, "seen")
        if spec.kind != "goto" or not spec.target_in_view or spec.distractors:
            continue
        image, box = paint_scene(spec, rng, 96, 128)
        assert box is not None
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        inside = image[y0:y1, x0:x1].reshape(-1, 3).astype(float)
        outside = np.concatenate([image[:, :max(x0, 1)].reshape(-1, 3), image[:, x1:].reshape(-1, 3)]).astype(float)
        # The named object is inside the box, so its pixels differ from the surroundings.
        assert np.abs(inside.mean(0) - outside.mean(0)).sum() > 5


def test_flip_mirrors_boxes_turns_and_angular_velocity(dataset):
    data = load_split(dataset, "train")
    actions = ("idle", "forward", "turn_left", "turn_right", "search", "arrived", "stop")
    idx = np.arange(len(data))
    plain = make_batch(data, idx, actions, {})
    flipped = make_batch(data, idx, actions, {}, flip=np.ones(len(data), dtype=bool))
    assert np.allclose(flipped["images"].numpy(), plain["images"].numpy()[..., ::-1])
    present = plain["present"].numpy() > 0.5
    assert np.allclose(flipped["boxes"][present, 0], 1 - plain["boxes"][present, 2])
    search = np.array([a == "search" for a in data.actions])
    assert search.any() and (~search).any()
    assert np.allclose(flipped["velocity"][~search, 1], -plain["velocity"][~search, 1])
    assert np.allclose(flipped["velocity"][search, 1], plain["velocity"][search, 1])  # still turns left
    swap = {2: 3, 3: 2}
    assert [swap.get(int(a), int(a)) for a in plain["actions"]] == [int(a) for a in flipped["actions"]]


def test_datagen_main_reports_counts(tmp_path, capsys):
    assert datagen_main(["--out", str(tmp_path / "d"), "--train", "10", "--eval", "5", "--splits", "train,seen",
                         "--source", "painter", "--height", "32", "--width", "48", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["counts"] == {"train": 10, "seen": 5}


@pytest.mark.parametrize("split", ["seen", "confusers"])
def test_sim_source_labels_come_from_the_rendered_boxes(split):
    from mm_robot.training import sim_source
    if not sim_source.available():
        pytest.skip("mm_robot.sim (MuJoCo) not importable")
    try:
        samples = list(sim_source.sim_samples(random.Random(0), split, 6, 48, 64, views_per_scene=3,
                                              camera=(128, 96)))
    except Exception as exc:  # noqa: BLE001 - no GL context on this machine
        pytest.skip(f"MuJoCo cannot render here: {exc}")
    assert len(samples) == 6
    for spec, image, box, (action, linear, angular) in samples:
        assert image.shape == (48, 64, 3) and image.dtype == np.uint8
        assert isinstance(action, Action) and np.isfinite([linear, angular]).all()
        if spec.kind == "stop":
            assert action == Action.STOP
        if spec.kind == "goto" and box is None:
            assert action == Action.SEARCH
        assert spec.target_in_view == (box is not None)
        if box is not None:  # in view: at least MIN_INPUT_PIXELS visible, so the box is no smaller
            assert 0 <= box[0] < box[2] <= 64 and 0 <= box[1] < box[3] <= 48
            assert (box[2] - box[0]) * (box[3] - box[1]) >= sim_source.MIN_INPUT_PIXELS
        if split == "confusers":
            assert spec.kind == "goto" and _has_lookalikes(spec.target, spec.distractors)


def test_sim_dataset_records_its_in_view_rule_and_refuses_to_mix_two(tmp_path):
    from mm_robot.training import sim_source
    if not sim_source.available():
        pytest.skip("mm_robot.sim (MuJoCo) not importable")
    try:
        index = generate(tmp_path, {"seen": 2}, source="sim", height=24, width=32, progress=False)
    except Exception as exc:  # noqa: BLE001 - no GL context on this machine
        pytest.skip(f"MuJoCo cannot render here: {exc}")
    assert index["in_view_min_pixels"] == sim_source.MIN_INPUT_PIXELS
    old = json.loads((tmp_path / "index.json").read_text())
    (tmp_path / "index.json").write_text(json.dumps({**old, "in_view_min_pixels": 5}))
    with pytest.raises(ValueError, match="in_view_min_pixels"):
        generate(tmp_path, {"seen": 4}, source="sim", height=24, width=32, progress=False)


def test_every_generated_wording_parses_to_what_it_means():
    """Labels from the parser-driven oracle agree with the sample's meaning only if no template
    word collides with the vocabulary (e.g. "can" is a cylinder word)."""
    from mm_robot.core.commands import parse
    from mm_robot.training.scenes import STOP_TEXTS, UNKNOWN_TEXTS, command_text
    assert all(parse(t).kind == "stop" for t in STOP_TEXTS)
    assert all(parse(t).kind == "unknown" for t in UNKNOWN_TEXTS)
    rng = random.Random(5)
    for split in ("train", "paraphrase"):
        for _ in range(400):
            colour, shape = rng.choice(sorted(HELD_OUT_COMBOS))
            intent = parse(command_text(rng, split, "goto", (colour, shape)))
            assert (intent.kind, intent.colour, intent.shape) == ("goto", colour, shape)


def test_paraphrase_breakdown_groups_in_view_samples_by_held_out_word_and_template():
    from mm_robot.training.dataset import SplitData
    from mm_robot.training.evaluate import paraphrase_breakdown

    texts = ["seek out the scarlet ball", "seek out the red ball", "roll over to the red orb",
             "your target is the blue box"]
    n = len(texts)
    data = SplitData(images=np.zeros((n, 32, 48, 3), np.uint8), texts=texts,
                     labels=["red ball", "red ball", "red ball", "blue box"],
                     boxes=np.tile(np.float32([0.2, 0.2, 0.6, 0.6]), (n, 1)),
                     present=np.float32([1, 1, 1, 0]), actions=["forward"] * n,
                     velocity=np.zeros((n, 2), np.float32), kinds=["goto"] * n,
                     n_distractors=np.zeros(n, np.int16))
    # Predictions: a hit, a box miss, a presence miss, and the absent sample.
    pred = {"iou": np.float32([0.9, 0.3, 0.9, 0.0]), "presence": np.float32([0.9, 0.9, 0.2, 0.1])}
    result = paraphrase_breakdown(pred, data)
    words = {k: v["n"] for k, v in result["by_held_out_word"].items()}
    assert words == {"-": 1, "orb": 1, "scarlet": 1}  # the absent sample is not counted
    templates = {k: v["n"] for k, v in result["by_template"].items()}
    assert templates == {"roll over to the {c} {s}": 1, "seek out the {c} {s}": 2}
    assert all(0.0 <= v["grounding_acc"] <= 1.0 for v in result["by_held_out_word"].values())
    assert {k: v["grounding_acc"] for k, v in result["by_held_out_word"].items()} == {"-": 0.0, "orb": 0.0,
                                                                                     "scarlet": 1.0}
    assert result["by_template"]["seek out the {c} {s}"]["grounding_acc"] == 0.5
