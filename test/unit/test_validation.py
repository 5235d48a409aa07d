"""Input validation: images (R6), audio (R7), commands (R8), stamps (R2), throttled logs (R16)."""

import numpy as np
import pytest

from mm_robot.core.counters import ErrorLog
from mm_robot.core.validation import (
    InputError,
    InputLimits,
    RateGate,
    StampPolicy,
    check_audio,
    check_command,
    check_image_layout,
    check_stamp,
)

LIMITS = InputLimits()


def test_well_formed_image_layout_passes():
    assert check_image_layout("rgb8", 320, 240, 960, 240 * 960, LIMITS) == (3, 1)
    assert check_image_layout("mono8", 10, 10, 16, 160, LIMITS) == (1, 1)  # padded rows are fine


@pytest.mark.parametrize("encoding, w, h, step, nbytes, kind", [
    ("yuv422", 4, 4, 8, 32, "encoding"),
    ("rgb8", 0, 4, 0, 0, "size"),
    ("rgb8", 4, 0, 12, 0, "size"),
    ("rgb8", 5000, 4, 15000, 60000, "size"),
    ("rgb8", 4, 4, 11, 44, "layout"),  # step < w * 3
    ("rgb8", 4, 4, 12, 47, "layout"),  # len != h * step
    ("rgb8", 4096, 4096, 12288, 4096 * 12288, "size"),  # 50 MB cap
])
def test_malformed_image_layouts_are_rejected(encoding, w, h, step, nbytes, kind):
    with pytest.raises(InputError) as error:
        check_image_layout(encoding, w, h, step, nbytes, LIMITS)
    assert error.value.kind == kind


def test_audio_checks():
    good = np.zeros((1600, 1), np.float32)
    assert check_audio(good, 16000, LIMITS).dtype == np.float32
    clipped = check_audio(np.full((10, 2), 3.0), 16000, LIMITS)
    assert clipped.max() == 1.0
    for samples, rate, kind in [
        (np.array([[np.nan]], np.float32), 16000, "audio_nonfinite"),
        (np.array([[np.inf]], np.float32), 16000, "audio_nonfinite"),
        (good, 100, "audio_rate"),
        (np.zeros((0, 1)), 16000, "audio_shape"),
        (np.zeros((10, 9)), 16000, "audio_shape"),
        (np.zeros((16000 * 3, 1)), 16000, "audio_size"),
    ]:
        with pytest.raises(InputError) as error:
            check_audio(samples, rate, LIMITS)
        assert error.value.kind == kind


def test_command_checks():
    assert check_command("  go to the red ball\n", LIMITS) == "go to the red ball"
    assert check_command("go to the red ball".encode(), LIMITS) == "go to the red ball"
    for raw, kind in [(b"\xff\xfe go", "command_utf8"), ("x" * 2000, "command_length"),
                      ("   ", "command_empty"), ("\udcff", "command_utf8"),
                      ("\ufffdgo", "command_utf8")]:
        with pytest.raises(InputError) as error:
            check_command(raw, LIMITS)
        assert error.value.kind == kind


def test_stamp_checks():
    policy = StampPolicy(max_age=0.5, max_future=0.1)
    check_stamp(99.8, 100.0, policy)
    for stamp, kind in [(0.0, "stamp_zero"), (98.0, "stamp_old"), (105.0, "stamp_future")]:
        with pytest.raises(InputError) as error:
            check_stamp(stamp, 100.0, policy)
        assert error.value.kind == kind


def test_rate_gate_caps_bursts():
    gate = RateGate(10.0)
    allowed = sum(gate.allow(0.001 * i) for i in range(100))  # 100 in 0.1 s
    assert 10 <= allowed <= 12


def test_error_log_throttles_each_kind_to_once_a_second_and_counts_all():
    lines = []
    log = ErrorLog(lines.append, period=1.0)
    for i in range(1000):
        log.report("image.encoding", "bad encoding", 5.0 + i / 1000.0)
    log.report("command.length", "too long", 5.5)
    assert log.counts["image.encoding"] == 1000
    assert sum("image.encoding" in line for line in lines) == 1
    assert sum("command.length" in line for line in lines) == 1
    log.report("image.encoding", "bad encoding", 6.01)
    assert "999 similar suppressed" in lines[-1]


def test_a_guarded_handler_counts_rejected_and_unexpected_inputs_and_never_raises():
    log = ErrorLog(lambda _: None)

    def handler(msg, now):
        if msg == "bad":
            raise InputError("too_long", "too long")
        if msg == "boom":
            raise RuntimeError("bug")

    for msg in ("ok", "bad", "boom", "bad"):
        log.guard("command", handler, msg, 1.0)
    assert log.counts == {"command.too_long": 2, "command.unexpected": 1}
