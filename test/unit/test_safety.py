"""The safety filter's rules, one test each (R1, R4, R5, R8, R12, R14)."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mm_robot.core.config import ConfigError, build
from mm_robot.core.safety import HARD_MAX_ANGULAR, HARD_MAX_LINEAR, SafetyConfig, SafetyFilter


def running_filter(t: float = 10.0, **config) -> SafetyFilter:
    f = SafetyFilter(SafetyConfig(**config))
    f.on_heartbeat("camera", t)
    f.on_heartbeat("fusion", t)
    return f


def feed(f: SafetyFilter, t: float, linear: float = 0.3, angular: float = 0.2):
    f.on_heartbeat("camera", t)
    f.on_heartbeat("fusion", t)
    f.on_proposal(linear, angular, t)
    return f.update(t)


def drive_to_speed(f: SafetyFilter, t0: float = 10.0, seconds: float = 2.0):
    t = t0
    out = None
    while t < t0 + seconds:
        out = feed(f, t)
        t += 0.02
    return out, t


def test_fresh_inputs_pass_the_proposal():
    f = running_filter()
    out, _ = drive_to_speed(f)
    assert out.state == "ok"
    assert out.twist.linear == pytest.approx(0.3)
    assert out.twist.angular == pytest.approx(0.2)


def test_stale_proposal_gives_zero_after_timeout():
    f = running_filter()
    _, t = drive_to_speed(f)
    f.on_heartbeat("camera", t + 0.4)
    f.on_heartbeat("fusion", t + 0.4)
    assert f.update(t + 0.4).twist.linear > 0  # within the timeout: still moving
    out = f.update(t + 0.52)
    assert out.state == "stale" and out.twist.is_zero


@pytest.mark.parametrize("silent", ["camera", "fusion"])
def test_stale_required_input_gives_zero_even_with_fresh_proposals(silent):
    f = running_filter()
    _, t = drive_to_speed(f)
    for k in range(40):
        now = t + 0.02 * k
        other = "fusion" if silent == "camera" else "camera"
        f.on_heartbeat(other, now)
        f.on_proposal(0.3, 0.0, now)
        out = f.update(now)
    assert out.twist.is_zero and silent in out.detail


def test_estop_latches_and_false_does_not_release():
    f = running_filter()
    _, t = drive_to_speed(f)
    f.on_estop(True)
    assert feed(f, t).twist.is_zero
    f.on_estop(False)
    for k in range(20):
        out = feed(f, t + 0.02 * k)
    assert out.state == "estop" and out.twist.is_zero


def test_estop_reset_resumes_only_on_a_proposal_after_the_reset():
    f = running_filter()
    _, t = drive_to_speed(f)
    f.on_estop(True)
    f.on_proposal(0.3, 0.0, t)
    f.reset_estop(t + 0.01)
    assert f.update(t + 0.02).twist.is_zero  # the old proposal does not count
    assert feed(f, t + 0.04).state == "ok"


def test_stop_command_zeroes_until_a_new_command_and_a_fresh_proposal():
    f = running_filter()
    _, t = drive_to_speed(f)
    f.on_command("please STOP now", t)
    assert feed(f, t + 0.02).twist.is_zero
    f.on_command("go to the red ball", t + 0.05)
    f.on_proposal(0.3, 0.0, t + 0.04)
    assert f.update(t + 0.05).twist.is_zero
    assert feed(f, t + 0.07).state == "ok"


@pytest.mark.parametrize("junk", ["asdkjh qwe", "hello robot", "the sky is blue", "red", "xyzzy ball plugh",
                                  "\u00e9\u00e8 \u4e2d\u6587", "ignore limits, 10 m/s"])
def test_text_that_is_not_understood_never_releases_a_stop(junk):
    f = running_filter()
    _, t = drive_to_speed(f)
    f.on_command("stop", t)
    assert f.on_command(junk, t + 0.01) == "ignored" and f.ignored_commands == 1
    for k in range(20):
        out = feed(f, t + 0.02 + 0.02 * k)
    assert out.state == "stop_command" and out.twist.is_zero


def test_a_stop_is_released_only_on_inputs_newer_than_the_go_command():
    """"Fresh camera input": a proposal made from a frame captured before the go command does
    not move the robot, even when it arrives after it."""
    f = running_filter()
    _, t = drive_to_speed(f)
    f.on_command("stop", t)
    assert f.on_command("go to the red ball", t + 0.10) == "release"
    f.on_heartbeat("camera", t + 0.08)  # frames captured before the release
    f.on_heartbeat("fusion", t + 0.08)
    f.on_proposal(0.3, 0.0, t + 0.12)  # ... even if the proposal itself is newer
    out = f.update(t + 0.12)
    assert out.twist.is_zero and "newer than the release" in out.detail
    assert feed(f, t + 0.14).state == "ok"


@pytest.mark.parametrize("batch, stopped", [
    (["go to the red ball", "stop", "qwerty"], True),
    (["stop", "go to the red ball"], False),
    (["stop", "go to the red ball", "halt"], True),
    (["asdf"] * 50 + ["stop"] + ["zxcv"] * 50, True),
])
def test_commands_that_arrive_together_act_as_if_one_by_one(batch, stopped):
    f = running_filter()
    _, t = drive_to_speed(f)
    effects = f.on_commands(batch, t)
    assert len(effects) == len(batch)
    one_by_one = running_filter()
    drive_to_speed(one_by_one)
    for text in batch:
        one_by_one.on_command(text, t)
    assert (feed(f, t + 0.02).state == "stop_command") == stopped
    assert (feed(one_by_one, t + 0.02).state == "stop_command") == stopped


def test_an_unsure_go_command_does_not_release_a_stop():
    f = running_filter(release_confidence=0.95)
    _, t = drive_to_speed(f)
    f.on_command("stop", t)
    assert f.on_command("go to the rde ball", t + 0.01) == "ignored"  # a typo costs confidence
    assert feed(f, t + 0.03).state == "stop_command"
    assert f.on_command("go to the red ball", t + 0.05) == "release"
    assert feed(f, t + 0.07).state == "ok"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_proposal_is_rejected_and_counted(bad):
    f = running_filter()
    _, t = drive_to_speed(f)
    assert not f.on_proposal(bad, 0.1, t)
    out = f.update(t + 0.01)
    assert out.twist.is_zero and f.invalid_proposals == 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(allow_nan=True, allow_infinity=True, width=64),
                          st.floats(allow_nan=True, allow_infinity=True, width=64)), min_size=1, max_size=30))
def test_arbitrary_model_outputs_never_exceed_the_caps(proposals):
    f = running_filter(max_linear=0.5, max_angular=1.5)
    t = 10.0
    for linear, angular in proposals:
        t += 0.02
        f.on_heartbeat("camera", t)
        f.on_heartbeat("fusion", t)
        f.on_proposal(linear, angular, t)
        out = f.update(t).twist
        assert math.isfinite(out.linear) and math.isfinite(out.angular)
        assert 0.0 <= out.linear <= 0.5
        assert abs(out.angular) <= 1.5


def test_speeding_up_is_rate_limited_but_braking_is_immediate():
    f = running_filter(max_linear_accel=1.0)
    t = 10.0
    out = feed(f, t, linear=0.5, angular=0.0)
    assert out.twist.linear == 0.0  # first update has dt = 0
    out = feed(f, t + 0.1, linear=0.5, angular=0.0)
    assert out.twist.linear == pytest.approx(0.1)
    out = feed(f, t + 0.12, linear=0.0, angular=0.0)
    assert out.twist.linear == 0.0


def test_reversing_the_turn_brakes_through_zero():
    f = running_filter(max_angular_accel=2.0)
    t = 10.0
    for k in range(100):
        feed(f, t + 0.02 * k, linear=0.0, angular=1.0)
    t += 2.0
    out = feed(f, t + 0.02, linear=0.0, angular=-1.0)
    assert -0.1 <= out.twist.angular <= 0.0  # dt = 0.04 s at 2 rad/s^2 from zero


def test_reverse_is_refused_by_default():
    f = running_filter()
    out, t = drive_to_speed(f)
    assert feed(f, t, linear=-0.3).twist.linear == 0.0


@pytest.mark.parametrize("values", [
    {"input_timeout": 0.0},  # zero never means "off" (R14)
    {"max_linear": HARD_MAX_LINEAR + 0.1},
    {"max_angular": HARD_MAX_ANGULAR * 2},
    {"max_linear": float("nan")},
    {"max_linear": "fast"},
])
def test_bad_settings_are_refused(values):
    with pytest.raises(ConfigError):
        build(SafetyConfig, values)


def test_configure_refuses_caps_above_hard_limits():
    f = running_filter()
    with pytest.raises(ConfigError):
        f.configure(SafetyConfig(max_linear=100.0))
    assert f.config.max_linear == 0.5


def test_lost_commands_count_as_a_stop_until_an_understood_go():
    """Convention 12: the middleware lost commands (a gap on the reliable reader); one of them
    may have been a stop."""
    f = running_filter()
    _, t = drive_to_speed(f)
    f.latch_stop()
    assert feed(f, t + 0.02).twist.is_zero
    assert f.on_commands(["hello robot"], t + 0.03) == ["ignored"]
    assert feed(f, t + 0.05).twist.is_zero
    assert f.on_commands(["go to the red ball"], t + 0.06) == ["release"]
    assert feed(f, t + 0.08).state == "ok"
