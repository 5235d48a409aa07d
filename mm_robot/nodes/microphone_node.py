"""microphone_node: publishes audio/raw chunks and the latched audio/info that describes them."""

from __future__ import annotations

import threading

from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import String

from ..core.config import ConfigError
from ..core.records import AudioChunk
from ..ros import qos
from ..ros.conversions import audio_info_json, chunk_to_audio
from ..ros.diagnostics import ERROR, Health, start_diagnostics
from ..ros.node_main import run_node
from ..ros.params import declare_config
from ..ros.time import now_seconds
from ..sources.audio import AudioSourceError, MicrophoneConfig, make_audio_source


class MicrophoneNode(Node):
    def __init__(self) -> None:
        super().__init__("microphone_node")
        self.config: MicrophoneConfig = declare_config(self, MicrophoneConfig)
        try:
            self.source = make_audio_source(self.config)
        except AudioSourceError as error:
            raise ConfigError(f"microphone_node: {error}") from None
        cfg = self.config
        self.info_pub = self.create_publisher(String, "audio/info", qos.LATCHED)
        self.info_pub.publish(String(data=audio_info_json(cfg.rate, cfg.channels, cfg.sample_format,
                                                          cfg.chunk_frames, cfg.frame_id)))
        self.audio_pub = self.create_publisher(Image, "audio/raw", qos.SENSOR_PUB)
        self.published = 0
        self.read_failures = 0
        self._running = True
        # Device capture blocks on its queue; file and synthetic sources are paced by a timer.
        if cfg.source == "device":
            self._thread = threading.Thread(target=self._pump, daemon=True)
            self._thread.start()
        else:
            self.create_timer(cfg.chunk_seconds, self._publish_one)
        start_diagnostics(self, self._health)

    def _pump(self) -> None:
        while self._running:
            self._publish_one()

    def _publish_one(self) -> None:
        samples = self.source.read()
        if samples is None:
            self.read_failures += 1
            return
        stamp = now_seconds(self) - samples.shape[0] / self.config.rate  # first frame's capture time
        chunk = AudioChunk(samples, self.config.rate, stamp, self.config.frame_id)
        self.audio_pub.publish(chunk_to_audio(chunk, self.config.sample_format))
        self.published += 1

    def _health(self) -> Health:
        health = Health(values={"source": self.config.source, "rate": self.config.rate,
                                "chunks_published": self.published, "read_failures": self.read_failures})
        if self.published == 0 and self.read_failures:
            health.raise_to(ERROR, "no audio from the source")
        return health

    def shutdown_hook(self) -> None:
        self._running = False
        self.source.close()


def main(args=None) -> int:
    return run_node(MicrophoneNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
