"""Offscreen rendering of one camera: RGB and geom segmentation, sharing one GL context.

``mujoco.Renderer`` makes a fresh GL context per model, and the first MuJoCo render
context in a GL context costs ~0.25 s (shader compilation). Data generation builds a world
per scene, so here every world in a process shares one GL context per frame size and only
the cheap per-model :class:`mujoco.MjrContext` (~10 ms) is made per world.

Threading: a GL context can be current on one thread at a time, so every use takes a
process-wide lock, makes the context current and releases it afterwards; any thread may
render (an executor's worker, the main thread), one at a time.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

_LOCK = threading.Lock()
_RENDER_LOCK = threading.RLock()
_CONTEXTS: dict[tuple[int, int], object] = {}


def _shared_context(mujoco, width: int, height: int):
    with _LOCK:
        key = (width, height)
        if key not in _CONTEXTS:
            _CONTEXTS[key] = mujoco.GLContext(width, height)
        return _CONTEXTS[key]


@contextlib.contextmanager
def _current(gl):
    """Hold the render lock with ``gl`` current on this thread; release it afterwards (EGL)."""
    with _RENDER_LOCK:
        scope = getattr(gl, "as_current", None)
        if scope is None:  # backends without it (GLFW, OSMesa) do not bind contexts exclusively
            gl.make_current()
            yield
        else:
            with scope():
                yield


class OffscreenRenderer:
    """Renders ``camera`` of ``model``. ``rgb``: (H, W, 3) uint8; ``segment``: (H, W) int32
    geom ids, -1 where no geom (sky)."""

    def __init__(self, mujoco, model, width: int, height: int, max_geom: int = 2000) -> None:
        self._mj = mujoco
        self.model = model
        self.width, self.height = width, height
        self._gl = _shared_context(mujoco, width, height)
        with _current(self._gl):
            self._ctx = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_100.value)
            mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN.value, self._ctx)
        self._scene = mujoco.MjvScene(model, max_geom)
        self._option = mujoco.MjvOption()
        self._camera = mujoco.MjvCamera()
        self._camera.type = mujoco.mjtCamera.mjCAMERA_FIXED.value
        self._rect = mujoco.MjrRect(0, 0, width, height)
        self._rgb = np.empty((height, width, 3), np.uint8)
        self._seg = np.empty((height, width, 3), np.uint8)

    def render(self, data, camera_id: int, segmentation: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """(rgb, geom-id image or None). Both are fresh arrays, top row first."""
        if self._ctx is None:
            raise RuntimeError("renderer is closed")
        with _current(self._gl):
            return self._render(data, camera_id, segmentation)

    def _render(self, data, camera_id: int, segmentation: bool) -> tuple[np.ndarray, np.ndarray | None]:
        mj = self._mj
        mj.mjr_setBuffer(mj.mjtFramebuffer.mjFB_OFFSCREEN.value, self._ctx)
        self._camera.fixedcamid = camera_id
        mj.mjv_updateScene(self.model, data, self._option, None, self._camera,
                           mj.mjtCatBit.mjCAT_ALL.value, self._scene)
        mj.mjr_render(self._rect, self._scene, self._ctx)
        mj.mjr_readPixels(self._rgb, None, self._rect, self._ctx)
        rgb = np.flipud(self._rgb).copy()
        if not segmentation:
            return rgb, None
        flags = self._scene.flags
        saved = flags.copy()
        flags[mj.mjtRndFlag.mjRND_SEGMENT] = 1
        flags[mj.mjtRndFlag.mjRND_IDCOLOR] = 1
        try:
            mj.mjr_render(self._rect, self._scene, self._ctx)
            mj.mjr_readPixels(self._seg, None, self._rect, self._ctx)
        finally:
            np.copyto(flags, saved)
        code = (self._seg[..., 0].astype(np.int32) | (self._seg[..., 1].astype(np.int32) << 8)
                | (self._seg[..., 2].astype(np.int32) << 16))
        # Segment id s (colour s + 1) -> the geom it came from; 0 is the background.
        ngeom = self._scene.ngeom
        lookup = np.full(ngeom + 2, -1, np.int32)
        geom_type = mj.mjtObj.mjOBJ_GEOM.value
        for g in self._scene.geoms[:ngeom]:
            if g.segid >= 0 and g.objtype == geom_type:
                lookup[g.segid + 1] = g.objid
        code[code > ngeom] = ngeom + 1
        return rgb, np.flipud(lookup[code]).copy()

    def close(self) -> None:
        if self._ctx is not None:
            with _current(self._gl):
                self._ctx.free()
            self._ctx = None

    def __del__(self) -> None:  # a World dropped without close(): free its GPU-side buffers
        try:
            self.close()
        except Exception:
            pass
