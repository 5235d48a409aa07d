#!/usr/bin/env bash
# `colcon build` and the real `ros2 launch` on a machine with no ROS distro, in .venv-ros2: colcon
# from PyPI, the upstream launch stack from ../shared/ros2-launch (wheels, plus the stub of the one
# message package that is not on PyPI), and everything else (rclpy, the message packages, torch, ...)
# reused from BASE_VENV through a .pth file. A venv of its own because BASE_VENV holds mm_robot as
# an editable install, which would shadow the colcon-built copy.
#
# Usage: scripts/setup_ros2_launch.sh [BASE_VENV]   (default: .venv; scripts/setup.sh calls it)
# Idempotent. Then: . .venv-ros2/bin/activate; colcon build; . install/setup.bash; ros2 launch ...
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=$(cd "${1:-.venv}" && pwd)
LAUNCH_STACK=${MM_ROBOT_ROS2_LAUNCH:-../shared/ros2-launch}
TOOLS=.venv-ros2
# Verified together: colcon-core 0.21 needs setuptools < 80; a pinned set keeps `colcon build`'s
# output (which a test requires to be warning-free) the same on every machine.
PINS=(colcon-common-extensions==0.3.0 colcon-core==0.21.3 colcon-ros==0.5.0 setuptools==79.0.1)

if [ ! -d "$LAUNCH_STACK/wheels" ]; then
  echo "setup_ros2_launch: $LAUNCH_STACK/wheels not found; skipping (the ros2 launch test needs it)" >&2
  exit 0
fi
PYTHON=$("$BASE/bin/python" -c 'import sys; print(sys._base_executable)')  # the same interpreter
[ -x "$TOOLS/bin/python" ] || "$PYTHON" -m venv "$TOOLS"
SITE=$("$TOOLS/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
BASE_SITE=$("$BASE/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
LINK="$SITE/mm_robot_base_venv.pth"

STAMP="$TOOLS/.mm_robot_setup"
WANT="${PINS[*]} $(cd "$LAUNCH_STACK/wheels" && echo *.whl)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  rm -f "$LINK"  # install in isolation: pip must neither see nor touch BASE's packages
  "$TOOLS/bin/python" -m pip install -q "${PINS[@]}"
  # --no-deps: launch_ros asks for 'ament_index_python', whose PyPI wheel has another name and
  # comes from BASE with the other ROS wheels.
  "$TOOLS/bin/python" -m pip install -q --no-deps "$LAUNCH_STACK"/wheels/*.whl
  for stub in "$LAUNCH_STACK"/stubs/*/; do
    rm -rf "${SITE:?}/$(basename "$stub")"
    cp -r "$stub" "$SITE/" && chmod -R u+w "$SITE/$(basename "$stub")"
  done
  echo "$WANT" > "$STAMP"
fi

# BASE's packages come after this venv's own (so its setuptools wins). The ROS wheels find their
# shared libraries through their bootstrapper (LD_LIBRARY_PATH, then a re-exec), which looks under
# sys.prefix: run it with BASE's prefix.
cat > "$LINK" <<EOF
$BASE_SITE
import sys; _prefix = sys.prefix; sys.prefix = "$BASE"; import ros_wheels_bootstrapper; sys.prefix = _prefix
EOF
echo "setup_ros2_launch: $TOOLS has colcon and ros2 (launch, node, topic, pkg) over $BASE"
