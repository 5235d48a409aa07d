#!/usr/bin/env bash
# Set up mm_robot on a fresh Debian/Ubuntu machine with no ROS distro: system libraries,
# a virtual environment in .venv, torch 2.13.0 (CPU build) first, then the package with
# the ROS 2 wheels. Idempotent: run it again any time.
set -euo pipefail
cd "$(dirname "$0")/.."

# PortAudio (sounddevice), EGL (MuJoCo offscreen), espeak-ng + sox (audio tests), and Gazebo's own
# SDFormat parser (`ign sdf -k`, to validate the Gazebo world without Gazebo Sim).
APT_PACKAGES=(libportaudio2 libegl1 libegl-mesa0 libgl1 espeak-ng sox ignition-tools libsdformat-dev)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing system packages: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: not root and no passwordless sudo; please install: ${missing[*]}" >&2
    echo "setup: (the microphone node needs libportaudio2; MuJoCo rendering needs libegl1 libegl-mesa0)" >&2
  fi
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch first and pinned: on our machines this is a CPU build from local disk; an unpinned
# torch (or one pulled in by another package) would download a multi-GB CUDA build.
python -c "import torch" 2>/dev/null || python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[ros,speech,test,bags]"
# colcon + the real `ros2 launch` in .venv-ros2 (over .venv), for the ros2 launch test and for
# trying the package as a ROS 2 user would; needs ../shared/ros2-launch (skipped without it).
bash scripts/setup_ros2_launch.sh .venv
echo "setup: done. Activate with '. .venv/bin/activate'; try 'mm-robot sim --scenario scenarios/public/go_to_red_ball.yaml' or 'mm-robot demo'."
