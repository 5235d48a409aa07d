"""Turning camera frames and audio chunks into model inputs (numpy in, torch out)."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
import torch


def resize_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """(h, w, 3) uint8 RGB -> (height, width, 3) uint8; area filter when shrinking."""
    if image.shape[0] == height and image.shape[1] == width:
        return image
    shrink = image.shape[0] > height or image.shape[1] > width
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def images_to_tensor(images: np.ndarray | Sequence[np.ndarray]) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float32 in [0, 1]."""
    array = np.ascontiguousarray(np.stack(list(images)) if not isinstance(images, np.ndarray) else images)
    tensor = torch.from_numpy(array)  # (B, H, W, 3) uint8
    return tensor.permute(0, 3, 1, 2).float().div_(255.0)  # (B, H, W, 3) -> (B, 3, H, W)


def prepare_frame(image: np.ndarray, height: int, width: int) -> torch.Tensor:
    """One (h, w, 3) uint8 frame -> (1, 3, height, width) float32."""
    return images_to_tensor(resize_image(image, height, width)[None])


def prepare_audio(samples: np.ndarray, rate: int, target_rate: int, max_seconds: float) -> torch.Tensor:
    """(frames, channels) or (frames,) float -> (1, T) mono float32 at ``target_rate``,
    the last ``max_seconds`` only (linear resampling is enough for a coarse log-mel)."""
    mono = samples.astype(np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=1)
    if rate != target_rate and mono.size > 1:
        n = max(1, int(round(mono.size * target_rate / rate)))
        mono = np.interp(np.linspace(0, mono.size - 1, n), np.arange(mono.size), mono).astype(np.float32)
    mono = mono[-int(max_seconds * target_rate):]
    return torch.from_numpy(np.ascontiguousarray(mono))[None]  # (T,) -> (1, T)
