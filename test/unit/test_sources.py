"""Sensor sources without hardware: video files, missing devices with backoff, WAV and synthetic audio."""

import wave

import cv2
import numpy as np
import pytest

from mm_robot.sources.audio import AudioSourceError, MicrophoneConfig, SyntheticAudio, WavAudio, make_audio_source
from mm_robot.sources.camera import CameraConfig, make_source
from mm_robot.sources.video import Backoff, VideoSource


def test_backoff_doubles_up_to_the_cap_and_resets():
    backoff = Backoff(initial=0.5, maximum=2.0)
    delays = [backoff.failed(0.0) for _ in range(4)]
    assert delays == [0.5, 1.0, 2.0, 2.0]
    assert not backoff.ready(1.0) and backoff.ready(2.0)
    backoff.succeeded()
    assert backoff.ready(0.0)


def test_missing_camera_is_an_error_message_and_a_retry_not_a_crash(tmp_path):
    source = VideoSource(str(tmp_path / "no_such_video.avi"))
    assert source.read(now=0.0) is None
    assert "cannot open" in source.last_error and "retrying in 0.5 s" in source.last_error
    assert source.failed_attempts == 1
    assert source.read(now=0.1) is None and source.read(now=0.2) is None  # backing off: no new attempt
    assert source.failed_attempts == 1
    assert source.read(now=0.6) is None and "retrying in 1.0 s" in source.last_error
    assert source.failed_attempts == 2


def test_video_file_frames_are_read_resized_and_looped(tmp_path):
    path = str(tmp_path / "clip.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(3):
        writer.write(np.full((48, 64, 3), (0, 0, 60 * (i + 1)), np.uint8))  # BGR: red grows
    writer.release()
    source = make_source(CameraConfig(source=path, width=32, height=24))
    frames = [source.read(0.0) for _ in range(5)]  # more than the file has: it loops
    assert all(f is not None and f.shape == (24, 32, 3) for f in frames)
    assert frames[0][..., 0].mean() < frames[2][..., 0].mean()  # RGB order: red channel first


def test_synthetic_camera_source_renders_the_configured_scene():
    source = make_source(CameraConfig(synthetic_scene="red ball 2 0", width=160, height=120))
    image = source.read(0.0)
    assert image.shape == (120, 160, 3)
    centre = image[60:85, 70:90].reshape(-1, 3).mean(axis=0)
    assert centre[0] > 150 and centre[1] < 80  # red in the middle


def test_bad_synthetic_scene_is_refused():
    with pytest.raises(ValueError, match="unknown colour"):
        make_source(CameraConfig(synthetic_scene="mauve ball 1 1"))


def test_synthetic_audio_is_continuous_and_bounded():
    source = SyntheticAudio(MicrophoneConfig(rate=16000, channels=2, chunk_seconds=0.05))
    a, b = source.read(), source.read()
    assert a.shape == b.shape == (800, 2) and a.dtype == np.float32
    assert np.abs(np.concatenate([a, b])).max() < 0.2


def test_wav_source_loops_and_checks_the_rate(tmp_path):
    path = tmp_path / "tone.wav"
    samples = (0.5 * np.sin(np.linspace(0, 100, 4000)) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(samples.tobytes())
    source = WavAudio(MicrophoneConfig(source=str(path), chunk_seconds=0.1))
    chunks = [source.read() for _ in range(3)]  # 4800 frames from a 4000-frame file
    np.testing.assert_allclose(chunks[0][:, 0], samples[:1600] / 32768.0, atol=1e-6)
    with pytest.raises(AudioSourceError, match="rate 16000 Hz != parameter rate 8000"):
        WavAudio(MicrophoneConfig(source=str(path), rate=8000))
    with pytest.raises(AudioSourceError, match="cannot read WAV"):
        make_audio_source(MicrophoneConfig(source=str(tmp_path / "missing.wav")))


def test_audio_device_failure_is_a_clear_error():
    # No microphone on test machines: either PortAudio is missing or the device does not exist.
    with pytest.raises(AudioSourceError, match="PortAudio|audio input device"):
        make_audio_source(MicrophoneConfig(source="device", device="no-such-device-xyz"))
