"""speech_node: audio/raw + audio/info in; speech/transcript (JSON) and, when confident, command out.

Thin: the hearing itself (level, resampling, VAD, streaming recognition, the command language)
is :class:`mm_robot.audio.listener.Listener`. The subscription validates and hands each chunk to
the listener in its own callback group (convention 3); malformed, silent, clipped or non-finite
audio is counted and dropped or reported (R7, R9, R16), never a crash. A stop word heard in the
running hypothesis is published on ``command`` at once, before the utterance ends (convention 12).
A managed (lifecycle) node, like fusion_node: ``configure`` loads the VAD and the recogniser,
``activate`` starts hearing and publishing, ``deactivate`` stops (audio is then ignored),
``cleanup``/``shutdown`` release the models.
"""

from __future__ import annotations

import json

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import Image
from std_msgs.msg import String

from ..audio.listener import HearingConfig, Listener, SpokenStop
from ..audio.recognizers import RecognizerError
from ..audio.vad import VadError
from ..core.counters import ErrorLog
from ..core.lifecycle import ManagedNodeConfig
from ..core.validation import InputError, InputLimits
from ..ros import qos
from ..ros.conversions import audio_to_chunk, parse_audio_info
from ..ros.diagnostics import ERROR, WARN, Health, qos_events_for, raise_for_qos, start_diagnostics
from ..ros.managed import bring_up, destroy_entities
from ..ros.node_main import run_node
from ..ros.params import declare_config, watch_config
from ..ros.time import now_seconds


class SpeechNode(LifecycleNode):
    """A managed node (mm_robot.core.lifecycle); diagnostics run in every state."""

    def __init__(self) -> None:
        super().__init__("speech_node")
        self.config: HearingConfig = declare_config(self, HearingConfig)
        self.limits: InputLimits = declare_config(self, InputLimits, prefix="limits.")
        self.managed: ManagedNodeConfig = declare_config(self, ManagedNodeConfig)
        watch_config(self, HearingConfig, lambda: self.config, self._apply)
        self.errors = ErrorLog(self.get_logger().warning)
        self.listener: Listener | None = None
        self.active = False
        self.failure = ""  # why the last configure failed
        self.audio_rate: int | None = None
        self.chunk_times: list[float] = []  # arrival times of the last chunks (input rate), bounded
        self._entities: list = []  # what configure created and cleanup destroys
        start_diagnostics(self, self._health, callback_group=MutuallyExclusiveCallbackGroup())
        if self.managed.autostart:
            bring_up(self, lambda: self.failure)

    # -- life cycle ----------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self.listener = Listener(self.config)
        except (RecognizerError, VadError) as error:
            self.failure = f"speech_node: {error}"
            self.get_logger().error(self.failure)
            return TransitionCallbackReturn.FAILURE
        group = MutuallyExclusiveCallbackGroup()  # one chunk at a time, in order
        for msg_type, topic, callback, profile in ((Image, "audio/raw", self._on_audio, qos.SENSOR),
                                                   (String, "audio/info", self._on_info, qos.LATCHED)):
            events = qos_events_for(self, self.errors, topic)  # lost messages matter only on keep-all
            self._entities.append(self.create_subscription(msg_type, topic, callback, profile,
                                                           callback_group=group, event_callbacks=events))
        self.transcript_pub = self.create_lifecycle_publisher(String, "speech/transcript", qos.RELIABLE)
        self.command_pub = self.create_lifecycle_publisher(String, "command", qos.RELIABLE)
        self._entities += [self.transcript_pub, self.command_pub]
        self.get_logger().info(f"configured: {self.config.backend} ({self.config.lexicon} grammar)")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.listener.reset()  # nothing heard while inactive is carried over
        result = super().on_activate(state)  # enables the lifecycle publishers
        self.active = True
        self.get_logger().info("active: listening")
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.active = False
        self.get_logger().info("inactive: audio is ignored")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.active = False
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.active = False
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _release(self) -> None:
        """Destroy what configure created and drop the listener (its models go with it)."""
        destroy_entities(self, self._entities)
        self.listener = None

    def _apply(self, config: HearingConfig) -> None:
        self.config = config
        if self.listener is not None:
            self.listener.config = config

    def _guard(self, kind: str, handler, msg, when_inactive: bool = False) -> None:
        if self.listener is None or not (self.active or when_inactive):
            return  # inactive: not listening
        self.errors.guard(kind, handler, msg, now_seconds(self))

    def _on_info(self, msg: String) -> None:
        def handle(m, now):
            rate = parse_audio_info(m.data)["rate"]
            if rate != self.audio_rate:
                self.audio_rate = rate
                self.listener.reset()
        # The stream's description is state, kept while inactive too: the latched message arrives
        # once, right after configure subscribes, before activate.
        self._guard("audio_info", handle, msg, when_inactive=True)

    def _on_audio(self, msg: Image) -> None:
        def handle(m, now):
            if self.audio_rate is None:
                raise InputError("no_info", "audio/raw received before audio/info; dropped")
            chunk = audio_to_chunk(m, self.audio_rate, self.limits)
            self.chunk_times = (self.chunk_times + [now])[-50:]
            for event in self.listener.accept(chunk.samples, chunk.rate, chunk.stamp):
                self._publish(event)
        self._guard("audio", handle, msg)

    def _publish(self, event) -> None:
        if isinstance(event, SpokenStop):
            self.command_pub.publish(String(data="stop"))  # before anything else (convention 12)
            self.transcript_pub.publish(String(data=json.dumps(
                {"text": event.text, "kind": "stop", "partial": True, "stamp": event.stamp,
                 "latency_ms": round(event.latency_ms, 2), "backend": self.config.backend, "command": "stop"})))
            self.get_logger().info(f"stop heard: {event.text!r}")
            return
        if event.command is not None:
            self.command_pub.publish(String(data=event.command))
        self.transcript_pub.publish(String(data=json.dumps(event.to_json())))
        self.get_logger().info(f"heard {event.text!r} -> {event.kind} ({event.reason})")

    def _health(self) -> Health:
        if self.listener is None:
            health = Health(values={"backend": self.config.backend, "state": "unconfigured"})
            health.raise_to(WARN, self.failure or "not configured (lifecycle): not listening")
            return health
        stats = self.listener.stats
        times = self.chunk_times
        rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
        level = stats.last_level
        health = Health(values={
            "backend": self.config.backend, "state": "active" if self.active else "inactive",
            "audio_rate_hz": self.audio_rate or 0, "chunks_per_s": rate,
            "input_level_dbfs": level.rms_dbfs if level else float("nan"),
            "input_peak": level.peak if level else float("nan"),
            "chunks": stats.chunks, "silent_chunks": stats.silent_chunks, "clipped_chunks": stats.clipped_chunks,
            "utterances": stats.utterances, "commands": stats.commands, "stops_spotted": stats.stops_spotted,
            "rejections": stats.rejections, "low_confidence": stats.low_confidence,
            "input_errors": self.errors.total, **{f"errors.{k}": v for k, v in self.errors.counts.items()},
        })
        raise_for_qos(health, self.errors.counts)
        if self.audio_rate is None:
            health.raise_to(WARN, "no audio/info yet")
        if level is not None and level.clipped:
            health.raise_to(WARN, "input clipping: lower the microphone gain")
        if self.errors.total:
            health.raise_to(WARN, f"{self.errors.total} malformed inputs dropped")
        if self.errors.counts.get("audio.unexpected"):
            health.raise_to(ERROR, "hearing failed on some chunks")
        return health


def main(args=None) -> int:
    return run_node(SpeechNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
