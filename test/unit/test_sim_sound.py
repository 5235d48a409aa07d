"""Sound in the simulator: what the stereo microphone pair hears, against the geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import require

from mm_robot.core.language import understand
from mm_robot.sim.emitters import BABBLE_SENTENCES, Beep, Recording, Tone, make_background, white_noise
from mm_robot.sim.sound import NEAR_FIELD, SPEED_OF_SOUND, MicPair, SoundRenderer, SoundSource, hear_scene, render_heard
from mm_robot.sim.spec import AudioSpec, ObjectSpec, Pose2D, SceneSpec, SoundSpec
from mm_robot.sim.voice import SOUND_RATE, espeak_available, resample, synthesise

RATE = SOUND_RATE
ORIGIN = Pose2D(0.0, 0.0, 0.0)


@pytest.fixture
def espeak():
    require(espeak_available(), "espeak-ng is not installed (Debian: apt-get install espeak-ng; "
            "scripts/setup.sh does)")


def db(x: np.ndarray) -> np.ndarray:
    """RMS level per column, dBFS."""
    return 20.0 * np.log10(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2, axis=0)))


def lag_of_right(left: np.ndarray, right: np.ndarray, max_lag: int = 20) -> float:
    """Samples by which ``right`` lags ``left`` (cross-correlation peak, parabolic refinement)."""
    core = slice(max_lag, len(left) - max_lag)
    scores = np.array([np.dot(left[core], right[max_lag + k:len(right) - max_lag + k])
                       for k in range(-max_lag, max_lag + 1)])
    i = int(np.argmax(scores))
    a, b, c = scores[i - 1], scores[i], scores[i + 1]
    return i - max_lag + 0.5 * (a - c) / (a - 2 * b + c)


@pytest.mark.parametrize("azimuth_deg", [90.0, 30.0, -60.0, 150.0])
def test_time_and_level_differences_follow_the_geometry(azimuth_deg):
    """A source to the left is earlier and louder on the left (column 0), by the path-length
    difference and the head-shadow model; to the right, the other way round."""
    mic = MicPair(spacing=0.16, ild_db=6.0, rear_db=4.0)
    az = math.radians(azimuth_deg)
    x, y = 3.0 * math.cos(az), 3.0 * math.sin(az)
    heard = render_heard([SoundSource("n", x, y, white_noise(1), -20.0)], ORIGIN, 3.0, 2.0, mic)
    left, right = heard[:, 0].astype(np.float64), heard[:, 1].astype(np.float64)
    r_left, r_right = math.hypot(x, y - 0.08), math.hypot(x, y + 0.08)
    expected_lag = (r_right - r_left) / SPEED_OF_SOUND * RATE  # > 0: the left hears it first
    assert lag_of_right(left, right) == pytest.approx(expected_lag, abs=0.3)
    expected_ild = 6.0 * math.sin(az) + 20.0 * math.log10(r_right / r_left)
    level = db(heard)
    assert level[0] - level[1] == pytest.approx(expected_ild, abs=0.3)
    rear = -4.0 * (1.0 - math.cos(az)) / 2.0
    assert level[0] == pytest.approx(-20.0 + rear + 3.0 * math.sin(az) - 20 * math.log10(r_left), abs=0.3)


def test_level_falls_as_one_over_distance_and_is_clamped_in_the_near_field():
    levels = {}
    for distance in (0.05, 0.2, 1.0, 2.0, 4.0, 8.0):
        source = SoundSource("t", distance, 0.0, Tone(500.0), -20.0)
        levels[distance] = db(render_heard([source], ORIGIN, 2.0, 1.0, MicPair(spacing=0.02)))[0]
    assert levels[1.0] == pytest.approx(-20.0, abs=0.05)
    for near, far in ((1.0, 2.0), (2.0, 4.0), (4.0, 8.0)):
        assert levels[near] - levels[far] == pytest.approx(20 * math.log10(far / near), abs=0.05)
    clamped = -20.0 - 20 * math.log10(NEAR_FIELD)
    assert levels[0.05] == pytest.approx(clamped, abs=0.05)
    assert levels[0.2] == pytest.approx(clamped, abs=0.05)


def test_a_source_behind_is_quieter_by_rear_db():
    mic = MicPair(rear_db=5.0)
    ahead = db(render_heard([SoundSource("a", 2.0, 0.0, Tone(700.0), -20.0)], ORIGIN, 2.0, 1.0, mic))
    behind = db(render_heard([SoundSource("b", -2.0, 0.0, Tone(700.0), -20.0)], ORIGIN, 2.0, 1.0, mic))
    assert ahead - behind == pytest.approx([5.0, 5.0], abs=0.05)


def test_beeps_sound_for_their_duty_and_do_not_click():
    beep = Beep(1000.0, period_s=0.5, duty=0.3)
    t = np.arange(RATE) / RATE
    x = beep.sample(t)
    on = (np.mod(t, 0.5) > 0.01) & (np.mod(t, 0.5) < 0.14)
    off = np.mod(t, 0.5) > 0.16
    assert np.sqrt(np.mean(x[on] ** 2)) == pytest.approx(1.0, abs=0.01) and np.abs(x[off]).max() == 0.0
    # Ramped edges: no jump between neighbouring samples larger than the sine's own slope.
    assert np.abs(np.diff(x)).max() <= math.sqrt(2) * 2 * math.pi * 1000 / RATE * 1.01
    assert beep.sample(np.array([-0.2]))[0] == 0.0  # silent before it starts


def test_snr_of_the_mix_is_the_asked_value():
    """Background at snr_db below the loudest source's level at the pair's centre."""
    scene = SceneSpec((ObjectSpec("s", "red", "ball", 2.0, 0.0, sound=SoundSpec("tone", -18.0, 600.0)),),
                      Pose2D(), audio=AudioSpec("white", snr_db=10.0, seed=3, mic_spacing=0.16))
    for snr in (20.0, 10.0, 0.0):
        scene_at = SceneSpec(scene.objects, scene.robot, audio=AudioSpec("white", snr, 3))
        signal = hear_scene(SceneSpec(scene.objects, scene.robot), end_time=3.0, duration=2.0)
        mix = hear_scene(scene_at, end_time=3.0, duration=2.0)
        noise = mix.astype(np.float64) - signal
        measured = np.mean(db(signal) - db(noise))
        assert measured == pytest.approx(snr, abs=1.0)


def test_babble_snr_and_its_sentences_say_no_command(espeak):
    for sentence in BABBLE_SENTENCES:
        assert understand(sentence).kind == "not_understood", sentence
    background = make_background("babble", rms=0.01, seed=5, talkers=4)
    bed = background.segment(0, 4 * RATE)
    assert np.mean(db(bed)) == pytest.approx(-40.0, abs=1.0)
    assert 0.2 < np.corrcoef(bed[:, 0], bed[:, 1])[0, 1] < 0.999  # several voices from several sides


def test_rendering_in_chunks_equals_rendering_at_once():
    def renderer() -> SoundRenderer:
        r = SoundRenderer(MicPair(), make_background("white", 0.01, seed=2), start_time=0.0)
        r.add(SoundSource("beep", 1.0, 1.5, Beep(1500.0, 0.37, 0.4), -20.0))
        r.add(SoundSource("noise", -2.0, 0.5, white_noise(4), -25.0, start=0.3))
        return r
    whole = renderer().render(Pose2D(0.2, -0.1, 0.4), 1.0)
    chunked = renderer()
    parts = [chunked.render(Pose2D(0.2, -0.1, 0.4), k / 15.0) for k in range(1, 15)] + \
        [chunked.render(Pose2D(0.2, -0.1, 0.4), 1.0)]
    assert whole.shape == (RATE, 2)
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-6)
    assert {p.shape[0] for p in parts[:-1]} == {1066, 1067}  # 1/15 s steps: no sample lost or doubled


def test_a_moving_robot_hears_no_clicks():
    """Driving at 1 m/s and turning: the delays change by ~3 samples per chunk, ramped within it."""
    r = SoundRenderer()
    r.add(SoundSource("tone", 3.0, 0.3, Tone(800.0), -20.0))
    chunks = [r.render(Pose2D(k / 15.0, 0.0, 0.4 * k / 15.0), k / 15.0) for k in range(1, 31)]
    x = np.concatenate(chunks).astype(np.float64)
    amplitude = np.abs(x).max(axis=0)
    slope = math.sqrt(2) * 2 * math.pi * 800 / RATE  # largest step of a steady sine of RMS 1
    assert (np.abs(np.diff(x, axis=0)).max(axis=0) <= slope * amplitude * 1.05).all()


def test_rendering_is_deterministic_from_the_seed():
    def heard(seed: int) -> np.ndarray:
        noisy = ObjectSpec("n", "red", "ball", 1.0, 1.0, sound=SoundSpec("noise", -20.0, seed=seed))
        scene = SceneSpec((noisy,), Pose2D(), audio=AudioSpec("white", 10.0, seed))
        return hear_scene(scene, end_time=1.0, duration=0.5)
    assert np.array_equal(heard(1), heard(1))
    assert not np.allclose(heard(1), heard(2))


def test_render_heard_follows_time_and_does_not_change_the_sources():
    beep = SoundSource("b", 1.0, 0.0, Beep(1000.0, 1.0, 0.5), -20.0)
    during = render_heard([beep], ORIGIN, end_time=1.4, duration=0.3)  # 1.1..1.4 s: on
    between = render_heard([beep], ORIGIN, end_time=1.9, duration=0.3)  # 1.6..1.9 s: off
    assert during.shape == (4800, 2) and during.dtype == np.float32
    assert db(during)[0] > -21.0 and np.abs(between).max() == 0.0
    assert np.array_equal(render_heard([beep], ORIGIN, 1.4, 0.3), during)


def test_recordings_read_between_samples_keep_their_level():
    tone = np.sin(2 * np.pi * 2500 * np.arange(8000) / RATE)
    recording = Recording(tone, loop=True)
    for fraction in (0.0, 0.3, 0.5):
        value = recording.sample((np.arange(1000, 5000) + fraction) / RATE)
        assert np.sqrt(np.mean(value ** 2)) == pytest.approx(1.0, abs=0.01)
    once = Recording(tone[:1600])
    assert once.duration == pytest.approx(0.1) and once.sample(np.array([0.2, -0.01])).tolist() == [0.0, 0.0]


def test_speech_synthesis_and_resampling(espeak):
    said = synthesise("go to the red ball", "en-gb", 150, 60)
    assert said.dtype == np.float32 and 0.8 < said.size / RATE < 3.0 and not said.flags.writeable
    assert 0.01 < float(np.sqrt(np.mean(said ** 2))) < 0.5
    assert synthesise("go to the red ball", "en-gb", 150, 60) is said  # cached
    with pytest.raises(ValueError, match="voice"):
        synthesise("hello", "--help")
    up = resample(np.sin(2 * np.pi * 440 * np.arange(2205) / 22050), 22050, RATE)
    assert up.size == 1600
    expected = np.sin(2 * np.pi * 440 * np.arange(1600) / RATE)
    np.testing.assert_allclose(up[100:-100], expected[100:-100], atol=0.01)


def test_a_recorded_command_plays_from_the_operator(tmp_path):
    """``audio:`` on a timeline entry: a WAV beside the scenario, played from 1 m behind the robot."""
    import wave

    import yaml

    from mm_robot.sim.scenario import load_scenario
    from mm_robot.sim.soundtrack import Soundtrack
    tone = (0.3 * np.sin(2 * np.pi * 300 * np.arange(11025) / 22050) * 32767).astype("<i2")
    with wave.open(str(tmp_path / "say.wav"), "wb") as wav:
        wav.setnchannels(1), wav.setsampwidth(2), wav.setframerate(22050)
        wav.writeframes(tone.tobytes())
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({
        "schema": "mm_robot/scenario/1", "name": "s",
        "scene": {"robot": {"x": 0, "y": 0, "yaw": 0},
                  "objects": [{"name": "a", "colour": "red", "shape": "ball", "x": 2, "y": 0}]},
        "timeline": [{"t": 0.2, "text": "go to the red ball", "audio": "say.wav"}],
        "criteria": {"expect": "reach", "targets": ["a"], "time_limit": 20}}))
    scenario = load_scenario(tmp_path / "s.yaml")
    assert scenario.has_sound and scenario.timeline[0].spoken and scenario.timeline[0].typed
    track = Soundtrack.of(scenario)
    assert track.duration(scenario.timeline[0]) == pytest.approx(0.5)
    track.play(scenario.timeline[0], 0.2)
    heard = track.render(ORIGIN, 1.0).astype(np.float64)
    onset = 0.2 + 1.0 / SPEED_OF_SOUND  # from 1 m behind
    before, during = heard[:int(onset * RATE) - 2], heard[int(onset * RATE) + 400:int(0.65 * RATE)]
    assert np.abs(before).max() == 0.0
    # Level -20 dBFS at 1 m, straight behind: the rear attenuation (4 dB) on both sides, no ILD.
    assert db(during) == pytest.approx([-24.0 - 20 * math.log10(math.hypot(1.0, 0.08))] * 2, abs=0.3)
