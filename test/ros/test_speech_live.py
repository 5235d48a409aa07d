"""speech_node live: synthesised speech on audio/raw becomes a transcript and the right command;
a spoken stop is published; malformed, silent, clipped and NaN audio is counted, never a crash."""

import json
import time

import numpy as np
import pytest
from conftest import require
from sensor_msgs.msg import Image
from std_msgs.msg import String

from mm_robot.bringup.graph import NodeSpec
from mm_robot.core.records import AudioChunk
from mm_robot.ros import qos
from mm_robot.ros.conversions import audio_info_json, chunk_to_audio
from mm_robot.ros.probe import Probe, start_graph

pytestmark = pytest.mark.ros
voice = pytest.importorskip("mm_robot.sim.voice")
pytest.importorskip("pocketsphinx")
pytest.importorskip("silero_vad")

RATE = 48000  # a device rate: the node resamples to 16 kHz
CHUNK = 4800  # 0.1 s


def _speech(text: str) -> np.ndarray:
    """``text`` at RATE in stereo with quiet noise around it: (frames, 2) float32."""
    clip = np.asarray(voice.synthesise(text, "en-us", 160, 50, RATE), np.float32)
    rng = np.random.default_rng(0)
    audio = np.concatenate([np.zeros(RATE // 2, np.float32), clip, np.zeros(RATE, np.float32)])
    audio = audio + 0.003 * rng.standard_normal(audio.size).astype(np.float32)
    return np.stack([audio, audio], axis=1)


def _play(probe, publisher, audio: np.ndarray, clock: list) -> None:
    """Publish ``audio`` as 0.1 s chunks in real time (stamped on the probe's clock)."""
    for at in range(0, audio.shape[0] - CHUNK + 1, CHUNK):
        stamp = probe.node.get_clock().now().nanoseconds * 1e-9
        publisher.publish(chunk_to_audio(AudioChunk(audio[at:at + CHUNK], RATE, stamp, "microphone")))
        clock[0] = time.monotonic()
        time.sleep(CHUNK / RATE)


def _bad_messages() -> list[Image]:
    good = chunk_to_audio(AudioChunk(np.zeros((CHUNK, 2), np.float32), RATE, 1.0, "microphone"))
    nan = chunk_to_audio(AudioChunk(np.full((CHUNK, 2), np.nan, np.float32), RATE, 1.0, "microphone"))
    odd = Image(height=1, width=10, encoding="32FC2", step=80, data=bytes(79))  # a byte short
    wrong = Image(height=1, width=4, encoding="mono8", step=4, data=bytes(4))  # not an audio encoding
    clipped = chunk_to_audio(AudioChunk(np.ones((CHUNK, 2), np.float32), RATE, 1.0, "microphone"))
    return [nan, odd, wrong, good, clipped]


def test_spoken_commands_become_commands_and_bad_audio_is_counted(domain_id):
    require(voice.espeak_available(), "espeak-ng is not installed")
    supervisor = start_graph([NodeSpec("speech_node", "speech_node", {})])
    probe = Probe(domain_id)
    commands, transcripts = [], []
    try:
        probe.node.create_subscription(String, "command", lambda m: commands.append((time.monotonic(), m.data)),
                                       qos.RELIABLE)
        probe.node.create_subscription(String, "speech/transcript",
                                       lambda m: transcripts.append(json.loads(m.data)), qos.RELIABLE)
        info = probe.node.create_publisher(String, "audio/info", qos.LATCHED)
        audio = probe.node.create_publisher(Image, "audio/raw", qos.SENSOR_PUB)
        info.publish(String(data=audio_info_json(RATE, 2, "f32", CHUNK, "microphone")))
        assert probe.wait_for(lambda: audio.get_subscription_count() > 0
                              and probe.latest_diagnostic("speech_node") is not None, 60.0)
        for msg in _bad_messages() * 20:  # malformed, silent, clipped and NaN audio: counted, never a crash
            audio.publish(msg)
            time.sleep(0.05)  # a sensor subscription keeps the latest message only: do not outrun it
        time.sleep(1.0)
        clock = [0.0]
        _play(probe, audio, _speech("find the blue box"), clock)  # warms the live decoder (stop spotting)
        time.sleep(1.0)
        commands.clear()
        _play(probe, audio, _speech("go to the red ball"), clock)
        assert probe.wait_for(lambda: any(c == "go to the red ball" for _, c in commands), 10.0), transcripts
        heard = next(t for t in transcripts if t.get("command") == "go to the red ball")
        assert heard["kind"] == "goto" and heard["backend"] == "pocketsphinx" and heard["end"] > heard["start"]
        _play(probe, audio, _speech("stop"), clock)
        assert probe.wait_for(lambda: any(c == "stop" for _, c in commands), 10.0), transcripts
        _play(probe, audio, _speech("what time is it today"), clock)  # not a command: reported, not acted on
        time.sleep(1.0)
        assert [c for _, c in commands].count("stop") == 1 and len(commands) == 2, commands

        def counted() -> bool:
            entry = probe.latest_diagnostic("speech_node")
            values = entry[3] if entry else {}
            return (int(values.get("errors.audio.audio_nonfinite", 0)) >= 5
                    and int(values.get("errors.audio.audio_layout", 0)) >= 5
                    and int(values.get("errors.audio.audio_format", 0)) >= 5
                    and int(values.get("clipped_chunks", 0)) >= 5 and int(values.get("silent_chunks", 0)) >= 5
                    and int(values.get("utterances", 0)) >= 4)
        assert probe.wait_for(counted, 5.0), probe.latest_diagnostic("speech_node")
        assert supervisor.poll() is None  # alive
    finally:
        probe.close()
        supervisor.stop()


def _transition(probe, node: str, transition_id: int) -> bool:
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState
    client = probe.node.create_client(ChangeState, f"{node}/change_state")
    assert client.wait_for_service(timeout_sec=30.0), "change_state not served"
    future = client.call_async(ChangeState.Request(transition=Transition(id=transition_id)))
    assert probe.wait_for(lambda: future.done(), 60.0), "no answer to change_state"
    return future.result().success


def test_speech_node_is_managed_it_hears_only_while_active(domain_id):
    """issue 14 item 5: the node that loads models is a lifecycle node; without autostart it waits
    unconfigured (no audio subscription), hears once configured and active, and not once deactivated."""
    from lifecycle_msgs.msg import Transition
    require(voice.espeak_available(), "espeak-ng is not installed")
    supervisor = start_graph([NodeSpec("speech_node", "speech_node", {"autostart": False})])
    probe = Probe(domain_id)
    commands = []
    try:
        probe.node.create_subscription(String, "command", lambda m: commands.append(m.data), qos.RELIABLE)
        info = probe.node.create_publisher(String, "audio/info", qos.LATCHED)
        audio = probe.node.create_publisher(Image, "audio/raw", qos.SENSOR_PUB)
        info.publish(String(data=audio_info_json(RATE, 2, "f32", CHUNK, "microphone")))
        assert probe.wait_for(lambda: probe.latest_diagnostic("speech_node") is not None, 60.0)
        assert audio.get_subscription_count() == 0  # unconfigured: nothing loaded, nothing heard
        assert _transition(probe, "speech_node", Transition.TRANSITION_CONFIGURE)
        assert _transition(probe, "speech_node", Transition.TRANSITION_ACTIVATE)
        assert probe.wait_for(lambda: audio.get_subscription_count() > 0, 30.0)
        clock = [0.0]
        _play(probe, audio, _speech("find the blue box"), clock)  # warms the live decoder
        time.sleep(1.0)
        _play(probe, audio, _speech("go to the red ball"), clock)
        assert probe.wait_for(lambda: "go to the red ball" in commands, 10.0), commands
        assert _transition(probe, "speech_node", Transition.TRANSITION_DEACTIVATE)
        commands.clear()
        _play(probe, audio, _speech("go to the red ball"), clock)
        time.sleep(2.0)
        assert commands == []  # inactive: audio is ignored
        assert supervisor.poll() is None
    finally:
        probe.close()
        supervisor.stop()
