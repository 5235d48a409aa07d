"""The SROS2 access-control policy for the graph, generated from one table (R21). ROS-free.

``mm-robot sros2-policy [--namespace NS]`` prints it; config/sros2/policy.xml is the generated copy
for the root namespace and a test keeps them equal; a live test checks every node's actual
publishers, subscriptions and services against its enclave.

Names follow SROS2's rules: a name starting with ``/`` is absolute (``/diagnostics``, ``/clock``),
``~/x`` is the node's own (its parameter services), anything else is relative to the profile's
namespace, so one table serves a robot at ``/`` and one at ``/robot1``. Every enclave also gets what
any rclpy node uses: ``/rosout``, ``/parameter_events``, ``/clock`` (sim time) and its parameter
and type-description services. The ``operator`` enclave is for people and tools: it may say
commands, engage the e-stop and call ``estop/reset``, and watch the outputs.

Managed nodes (``fusion_node``) also serve the lifecycle services and publish
``~/transition_event``; the ``operator`` enclave may call them (``mm-robot lifecycle``).

``cmd_vel_proposal`` is a trusted interface: whoever may publish it can propose any velocity (the
safety controller still caps and gates it), so only ``fusion_node`` may.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from ..core.lifecycle import LIFECYCLE_SERVICES, MANAGED_NODES, TRANSITION_EVENT_TOPIC

# What every rclpy node uses, whatever it does.
PARAMETER_SERVICES = ("~/describe_parameters", "~/get_parameter_types", "~/get_parameters",
                      "~/list_parameters", "~/set_parameters", "~/set_parameters_atomically",
                      "~/get_type_description")
COMMON: dict[str, tuple[str, ...]] = {
    "publish": ("/rosout", "/parameter_events"),
    "subscribe": ("/clock", "/parameter_events"),
    "reply": PARAMETER_SERVICES,
}

# enclave (a node, or "operator") -> verb -> names. Verbs: publish, subscribe (topics); reply
# (serve a service), request (call one).
PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "camera_node": {"publish": ("camera/image_raw", "camera/image_raw/compressed", "camera/camera_info",
                                "/diagnostics"),
                    "subscribe": ("cmd_vel",)},
    "microphone_node": {"publish": ("audio/raw", "audio/info", "/diagnostics")},
    "speech_node": {"publish": ("speech/transcript", "command", "/diagnostics"),
                    "subscribe": ("audio/raw", "audio/info")},
    "fusion_node": {"publish": ("perception/grounding", "perception/target_roi", "perception/debug_image",
                                "perception/markers", "perception/detections", "decision", "cmd_vel_proposal",
                                "/diagnostics"),
                    "subscribe": ("camera/image_raw", "camera/image_raw/compressed", "camera/camera_info",
                                  "audio/raw", "audio/info", "command")},
    "safety_controller_node": {"publish": ("cmd_vel", "/diagnostics"),
                               "subscribe": ("cmd_vel_proposal", "camera/camera_info", "decision", "command",
                                             "estop"),
                               "reply": ("estop/reset",)},
    "sim_node": {"publish": ("camera/image_raw", "camera/camera_info", "odom", "/clock", "sim/ground_truth",
                             "command", "/diagnostics"),
                 "subscribe": ("cmd_vel", "decision", "perception/grounding")},
    "operator": {"publish": ("command", "estop"),
                 "subscribe": ("decision", "perception/grounding", "perception/target_roi", "cmd_vel",
                               "speech/transcript", "/diagnostics", "camera/image_raw", "perception/debug_image"),
                 "request": ("estop/reset",)},
}
# Managed nodes (mm_robot.core.lifecycle) serve the lifecycle services under their own name and
# announce transitions; operators may ask for transitions (mm-robot lifecycle).
for _node in MANAGED_NODES:
    _rules = PERMISSIONS[_node]
    _rules["publish"] += (f"~/{TRANSITION_EVENT_TOPIC}",)
    _rules["reply"] = _rules.get("reply", ()) + tuple(f"~/{name}" for name in LIFECYCLE_SERVICES)
    PERMISSIONS["operator"]["request"] += tuple(f"{_node}/{name}" for name in LIFECYCLE_SERVICES)
    PERMISSIONS["operator"]["subscribe"] += (f"{_node}/{TRANSITION_EVENT_TOPIC}",)
NODE_ENCLAVES = tuple(n for n in PERMISSIONS if n != "operator")
VERBS = ("publish", "subscribe", "reply", "request")


def enclave_path(name: str) -> str:
    """The enclave of a node (``NodeSpec.enclave``) or of ``operator``."""
    return f"/mm_robot/{name}"


def profile_namespace(namespace: str) -> str:
    return "/" + namespace.strip("/") if namespace.strip("/") else "/"


def rules_of(enclave: str) -> dict[str, tuple[str, ...]]:
    """An enclave's names per verb: its own table row plus ``COMMON``, without repeats."""
    own = PERMISSIONS[enclave]
    return {verb: tuple(dict.fromkeys(own.get(verb, ()) + COMMON.get(verb, ()))) for verb in VERBS}


def resolve(name: str, namespace: str, node: str) -> str:
    """The fully qualified name SROS2 gives ``name`` in a profile at ``namespace`` for ``node``."""
    ns = profile_namespace(namespace).rstrip("/") + "/"
    if name.startswith("/"):
        return name
    if name.startswith("~"):
        return ns + node + name[1:]
    return ns + name


def grants(namespace: str = "") -> dict[str, dict[str, set[str]]]:
    """enclave -> verb -> fully qualified names it may use: what :func:`policy_xml` allows."""
    return {enclave: {verb: {resolve(n, namespace, enclave) for n in names}
                      for verb, names in rules_of(enclave).items()}
            for enclave in PERMISSIONS}


def policy_xml(namespace: str = "") -> str:
    """An SROS2 policy (format 0.2.0) with one enclave per node and one for operators."""
    ns = profile_namespace(namespace)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             "<!-- Generated by `mm-robot sros2-policy`; see docs/security.md. -->",
             '<policy version="0.2.0" xmlns:xi="http://www.w3.org/2001/XInclude">', "  <enclaves>"]
    for enclave in PERMISSIONS:
        rules = rules_of(enclave)
        lines += [f'    <enclave path="{enclave_path(enclave)}">', "      <profiles>",
                  f'        <profile ns="{escape(ns)}" node="{enclave}">']
        for verb, element in (("publish", "topic"), ("subscribe", "topic"), ("reply", "service"),
                              ("request", "service")):
            if rules[verb]:
                lines.append(f'          <{element}s {verb}="ALLOW">')
                lines += [f"            <{element}>{escape(name)}</{element}>" for name in rules[verb]]
                lines.append(f"          </{element}s>")
        lines += ["        </profile>", "      </profiles>", "    </enclave>"]
    lines += ["  </enclaves>", "</policy>", ""]
    return "\n".join(lines)
