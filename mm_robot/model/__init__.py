"""The multimodal fusion model (torch + transformers; never rclpy).

configuration (FusionConfig) / encoders (registry) / modeling (FusionModel) /
processing (frames -> tensors) / zero_shot (CLIP patch-text grounding) / policy.
"""

from .configuration import FusionConfig, tiny_config
from .modeling import FusionModel, FusionOutput, box_iou

__all__ = ["FusionConfig", "FusionModel", "FusionOutput", "box_iou", "tiny_config"]
