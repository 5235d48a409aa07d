"""The ``mm-robot`` command: run the graph, talk to it, and the offline tools.

Subcommands import what they need when they run, so ``mm-robot params`` works
without a DDS middleware and ``mm-robot up`` never imports torch.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from .bringup.graph import GraphOptions  # ROS-free data
from .core.lifecycle import TRANSITIONS

DEFAULT_POLICY = GraphOptions().policy


def _localhost_only() -> None:
    """Demos and tools stay on this machine unless the user says otherwise (R21)."""
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")


def _graph_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--namespace", default="", help="namespace for every node (one per robot)")
    parser.add_argument("--camera", default="synthetic",
                        help="'synthetic', a device index, a video file, a stream URL, or 'sim'")
    _policy_argument(parser)
    parser.add_argument("--checkpoint", default="", help="fusion checkpoint directory (default: shipped)")
    parser.add_argument("--microphone", action="store_true", help="start microphone_node (synthetic source "
                        "unless the params file says otherwise)")
    parser.add_argument("--speech", action="store_true", help="start speech_node: spoken commands from "
                        "audio/raw (with --microphone, or from the simulator); docs/hearing.md")
    parser.add_argument("--params-file", default=None, help="ROS parameters YAML (default: config/mm_robot.yaml)")
    parser.add_argument("--use-sim-time", action="store_true")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--no-autostart", dest="autostart", action="store_false",
                        help="leave managed nodes (fusion_node) unconfigured for `mm-robot lifecycle`")


def _policy_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", default=DEFAULT_POLICY, choices=("baseline", "fusion"),
                        help="'fusion' (default: the multimodal model; the node falls back to 'baseline' "
                        "when torch is missing) or 'baseline' (OpenCV colour+shape)")


def _options(args):
    if args.params_file and not Path(args.params_file).is_file():
        raise SystemExit(f"mm-robot: --params-file {args.params_file}: no such file")
    return GraphOptions(namespace=args.namespace, use_sim_time=args.use_sim_time, camera=args.camera,
                        policy=args.policy, checkpoint=args.checkpoint, microphone=args.microphone,
                        speech=getattr(args, "speech", False), params_file=args.params_file,
                        autostart=getattr(args, "autostart", True))


def cmd_up(args) -> int:
    from .bringup.graph import bringup_graph
    from .bringup.supervisor import Supervisor
    options = _options(args)
    supervisor = Supervisor(bringup_graph(options), options)
    supervisor.start()
    if not args.say and not args.watch:
        return supervisor.wait(args.duration)
    from .ros.tools import watch
    code = 0
    try:
        watch(args.duration, say_text=args.say, alive=lambda: supervisor.poll() is None)
        dead = supervisor.poll()
        if dead is not None:
            print(f"{dead.spec.name} exited with code {dead.process.returncode}", file=sys.stderr)
            code = dead.process.returncode or 1
    finally:
        supervisor.stop()
    return code


def cmd_demo(args) -> int:
    os.environ.setdefault("ROS_DOMAIN_ID", "23")
    args.watch = True
    return cmd_up(args)


def cmd_say(args) -> int:
    from .ros.tools import say
    return say(" ".join(args.text), args.topic)


def cmd_watch(args) -> int:
    from .ros.tools import watch
    return watch(args.duration)


def cmd_listen(args) -> int:
    from .ros.tools import listen
    return listen(args.duration)


def cmd_estop(args) -> int:
    from .ros.tools import estop
    return estop(engage=not args.reset)


def cmd_lifecycle(args) -> int:
    from .ros.tools import lifecycle
    return lifecycle(args.node, args.transition)


def cmd_params(args) -> int:
    from .bringup.parameter_docs import params_markdown, params_yaml, write_generated_docs
    if args.write:
        root = Path(__file__).resolve().parent.parent
        if not (root / "README.md").is_file():
            print("--write needs a source checkout (README.md beside the package)", file=sys.stderr)
            return 2
        for path in write_generated_docs(root):
            print(f"rewrote {path}")
        return 0
    print(params_markdown() if args.markdown else params_yaml(), end="")
    return 0


def cmd_sim(args) -> int:
    from .evaluation.graph import run_scenario
    os.environ.setdefault("MUJOCO_GL", "egl")
    recorder = None
    if args.record:
        from .ros.recorder import DEFAULT_TOPICS, Recorder
        if Path(args.record).exists():
            raise SystemExit(f"mm-robot sim: --record {args.record} exists; a bag is never overwritten")
        recorder = Recorder(args.record, DEFAULT_TOPICS, use_sim_time=True)
    try:
        result = run_scenario(args.scenario, args.out, _options(args), video=args.video, mode=args.mode,
                              timeout=args.timeout, extra_command_readers=1 if recorder is not None else 0)
    finally:
        if recorder is not None:
            counts = recorder.close()
            print(f"recorded {sum(counts.values())} messages to {args.record}")
    verdict = "SUCCESS" if result.get("success") else "FAILURE"
    print(f"{verdict}: {result.get('scenario')} in {result.get('time', float('nan')):.1f} s sim time, "
          f"path {result.get('path_length', float('nan')):.1f} m, collisions {result.get('collisions', '?')}"
          + (f" — {'; '.join(result['reasons'])}" if result.get("reasons") else ""))
    print(f"outputs: {Path(args.out) / Path(args.scenario).stem}/ (result.json, camera video, trajectory.png)")
    return 0 if result.get("success") else 1


def cmd_eval(args) -> int:
    from .evaluation import evaluate
    os.environ.setdefault("MUJOCO_GL", "egl")
    from .evaluation.domains import parse_range
    try:
        domains = parse_range(args.domains)
    except ValueError as error:
        raise SystemExit(f"mm-robot eval: --domains: {error}") from None
    summary = evaluate(args.suite, args.policies.split(","), args.out, mode=args.mode, workers=args.workers,
                       checkpoint=args.checkpoint, domains=domains, video=args.video, timeout=args.timeout,
                       speech=args.speech)
    for policy, stats in summary["policies"].items():
        by = ", ".join(f"{k} {v:.0%}" for k, v in stats["by_category"].items())
        print(f"{policy:<9} {stats['success_rate']:.0%} of {stats['scenarios']}  ({by})")
    print(f"report: {Path(args.out) / 'report.md'}")
    return 0


def cmd_record(args) -> int:
    from .bags.store import BagError
    from .ros.recorder import record
    try:
        return record(args.out, args.topics, args.duration, namespace=args.namespace,
                      use_sim_time=args.use_sim_time)
    except BagError as error:
        print(f"mm-robot record: {error}", file=sys.stderr)
        return 2


def cmd_replay(args) -> int:
    from .bags.compare import summary
    from .bags.store import BagError
    from .ros.replay import replay, write_report
    options = GraphOptions(policy=args.policy, checkpoint=args.checkpoint, params_file=args.params_file)
    try:
        report = replay(args.bag, options, rate=args.rate, lockstep=args.lockstep)
    except (BagError, RuntimeError) as error:
        print(f"mm-robot replay: {error}", file=sys.stderr)
        return 2
    path = write_report(report, args.report or Path("runs/replay") / (Path(args.bag).name + ".json"))
    print(summary(report))
    print(f"report: {path}")
    return 0 if report["agreement"] >= args.min_agreement else 1


def cmd_make_suite(args) -> int:
    from .evaluation.heldout import CATEGORIES, write_heldout_suite
    categories = [c for c in args.categories.split(",") if c] or list(CATEGORIES)
    unknown = sorted(set(categories) - set(CATEGORIES))
    if unknown:
        raise SystemExit(f"mm-robot make-suite: unknown categories {', '.join(unknown)}; "
                         f"choose from {', '.join(CATEGORIES)}")
    paths = write_heldout_suite(args.out, categories, args.per_category, args.seed)
    print(f"wrote {len(paths)} scenarios to {args.out}")
    return 0


def _bench(argv: Sequence[str]) -> int:
    from .bench.run import bench_main
    return bench_main(argv)


# Subcommands whose arguments belong to a ``*_main(argv)`` of mm_robot.training.
FORWARDED = {"datagen": ("datagen_main", "generate training episodes from the simulator with the oracle expert"),
             "train": ("train_main", "train the fusion model: contrastive stage 1, multi-task stage 2; "
                       "torchrun for DDP"),
             "evaluate-model": ("evaluate_main", "offline evaluation of a checkpoint on held-out splits")}
# Subcommands whose arguments belong to a ``*_main(argv)`` elsewhere: module, function, help.
FORWARDED_ELSEWHERE = {"evaluate-speech": ("mm_robot.evaluation.speech", "evaluate_speech_main",
                                           "spoken-command accuracy, WER, rejections and latency in noise "
                                           "(espeak-ng voices; docs/hearing.md)")}


def _forward(name: str, argv: Sequence[str]) -> int:
    from . import training
    os.environ.setdefault("MUJOCO_GL", "egl")
    return int(getattr(training, FORWARDED[name][0])(list(argv)) or 0)


def _forward_elsewhere(name: str, argv: Sequence[str]) -> int:
    import importlib
    module, function, _ = FORWARDED_ELSEWHERE[name]
    return int(getattr(importlib.import_module(module), function)(list(argv)) or 0)


def cmd_sros2_policy(args) -> int:
    from .bringup.security import policy_xml
    print(policy_xml(args.namespace), end="")
    return 0


def _bag_parsers(sub) -> None:
    """``record`` and ``replay`` (docs/recording.md)."""
    rec = sub.add_parser("record", help="record topics into a rosbag2 MCAP bag until Ctrl-C (docs/recording.md)")
    rec.add_argument("topics", nargs="*", help="topics (default: camera, camera_info, audio, command, "
                     "decision, grounding, cmd_vel, diagnostics)")
    rec.add_argument("--out", required=True, metavar="BAG", help="the bag directory to create")
    rec.add_argument("--namespace", default="", help="the robot's namespace")
    rec.add_argument("--use-sim-time", action="store_true", help="log times on /clock (a simulator run)")
    rec.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    rec.set_defaults(func=cmd_record)

    rep = sub.add_parser("replay", help="replay a bag into a fresh graph and compare its decisions with the "
                         "recorded ones (docs/recording.md)")
    rep.add_argument("bag")
    _policy_argument(rep)
    rep.add_argument("--checkpoint", default="", help="fusion checkpoint directory (default: shipped)")
    rep.add_argument("--params-file", default=None)
    rep.add_argument("--rate", type=float, default=1.0, help="replay speed (x recorded time)")
    rep.add_argument("--lockstep", action="store_true", help="also wait for the graph's decision on each "
                     "frame (and after each command) before the next: every frame decided however slow "
                     "the machine")
    rep.add_argument("--report", default=None, help="JSON report path (default: runs/replay/<bag name>.json)")
    rep.add_argument("--min-agreement", type=float, default=0.0,
                     help="exit 1 when the agreement is below this fraction")
    rep.set_defaults(func=cmd_replay)


def _lifecycle_parser(sub) -> None:
    life = sub.add_parser("lifecycle", help="show a managed node's state, or ask it for a transition "
                          "(docs/commands.md)")
    life.add_argument("node", help="a managed node, e.g. fusion_node (or robot1/fusion_node)")
    life.add_argument("transition", nargs="?", choices=tuple(TRANSITIONS),
                      help="configure (load the model), activate, deactivate (zero proposals), cleanup, shutdown")
    life.set_defaults(func=cmd_lifecycle)


def _eval_parser(sub) -> None:
    ev = sub.add_parser("eval", help="closed-loop success over a scenario suite, policies side by side",
                        description="Run every scenario of a suite with each policy and write, under --out: "
                        "eval.json, report.md, success_by_category.png, and per policy/scenario a directory with "
                        "result.json (with decision counts), decisions.jsonl and groundings.jsonl.")
    ev.add_argument("--suite", default="scenarios/public", help="directory of scenario YAML files (default: "
                    "%(default)s; scenarios/heldout for the generated held-out suite)")
    ev.add_argument("--policies", default=f"oracle,{DEFAULT_POLICY}",
                    help="comma-separated: oracle (ground-truth upper bound, always lockstep), baseline, fusion "
                    "(default: %(default)s)")
    ev.add_argument("--mode", default="graph", choices=("graph", "lockstep"),
                    help="graph: real nodes over DDS (one ROS domain per worker); lockstep: in-process, no ROS "
                    "(default: %(default)s)")
    ev.add_argument("--workers", type=int, default=2, help="scenarios run in parallel, one process (and in graph "
                    "mode one ROS domain) each (default: %(default)s)")
    ev.add_argument("--checkpoint", default="", help="fusion checkpoint directory (default: the shipped one)")
    ev.add_argument("--out", default="runs/eval", help="directory all outputs go under (default: %(default)s)")
    ev.add_argument("--domains", default="120-232", help="ROS domain ids graph runs may use, LOW-HIGH; an id "
                    "another running evaluation holds is skipped (default: %(default)s)")
    ev.add_argument("--video", default="none", choices=("none", "mp4", "gif"),
                    help="keep each run's camera video with the grounding drawn on it (default: %(default)s)")
    ev.add_argument("--timeout", type=float, default=600.0, help="wall-clock limit of one graph run (s); a run "
                    "stopped by it fails with timed_out: true (default: %(default)s)")
    ev.add_argument("--speech", action="store_true", help="graph runs also start speech_node: a scenario's spoken "
                    "commands reach the graph only through the simulated microphones and the recogniser")
    ev.set_defaults(func=cmd_eval)


def _make_suite_parser(sub) -> None:
    suite = sub.add_parser("make-suite", help="generate a held-out scenario suite (small/far, colour shift, "
                           "camera, phrasing, compositional commands)",
                           description="Write generated held-out scenarios (docs/scenarios.md) to --out: "
                           "the same seed gives the same files.")
    suite.add_argument("--out", default="scenarios/heldout", help="directory to write (default: %(default)s)")
    suite.add_argument("--per-category", type=int, default=4, help="scenarios per category (default: %(default)s)")
    suite.add_argument("--seed", type=int, default=17000, help="base seed (default: %(default)s)")
    suite.add_argument("--categories", default="", help="comma-separated subset of the categories (default: all)")
    suite.set_defaults(func=cmd_make_suite)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mm-robot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the node graph (one process per node) until Ctrl-C")
    _graph_arguments(up)
    up.add_argument("--say", default=None, help="publish this command once the graph is up")
    up.add_argument("--watch", action="store_true", help="print decisions, grounding and cmd_vel live")
    up.set_defaults(func=cmd_up)

    demo = sub.add_parser("demo", help="the graph with the synthetic camera, a command, live output")
    _graph_arguments(demo)
    demo.add_argument("--say", default="go to the red ball")
    demo.set_defaults(func=cmd_demo, duration=None)

    say = sub.add_parser("say", help="publish a command (std_msgs/String)")
    say.add_argument("text", nargs="+")
    say.add_argument("--topic", default="command")
    say.set_defaults(func=cmd_say)

    watch = sub.add_parser("watch", help="print decisions, grounding and cmd_vel live")
    watch.add_argument("--duration", type=float, default=None)
    watch.set_defaults(func=cmd_watch)

    listen = sub.add_parser("listen", help="print speech/transcript live (what speech_node hears)")
    listen.add_argument("--duration", type=float, default=None)
    listen.set_defaults(func=cmd_listen)

    estop = sub.add_parser("estop", help="engage the latched e-stop, or --reset it")
    estop.add_argument("--reset", action="store_true")
    estop.set_defaults(func=cmd_estop)

    params = sub.add_parser("params", help="print every node parameter (YAML, or --markdown tables)")
    params.add_argument("--markdown", action="store_true", help="Markdown tables instead of YAML")
    params.add_argument("--write", action="store_true",
                        help="rewrite config/mm_robot.yaml and the README's tables in this source checkout")
    params.set_defaults(func=cmd_params)

    sim = sub.add_parser("sim", help="run one scenario closed loop: MuJoCo sim_node + the graph, headless")
    sim.add_argument("--scenario", required=True, help="scenario YAML (docs/scenarios.md)")
    _policy_argument(sim)
    sim.add_argument("--checkpoint", default="", help="fusion checkpoint directory (default: shipped)")
    sim.add_argument("--out", default="runs/sim", help="output directory (a sub-directory per scenario)")
    sim.add_argument("--video", default="mp4", choices=("mp4", "gif", "none"))
    sim.add_argument("--mode", default="lockstep", choices=("lockstep", "realtime"))
    sim.add_argument("--timeout", type=float, default=600.0, help="wall-clock limit (s)")
    sim.add_argument("--record", default=None, metavar="BAG",
                     help="also record the run into this new rosbag2 MCAP bag (docs/recording.md)")
    sim.add_argument("--speech", action="store_true",
                     help="start speech_node, so a scenario's spoken commands reach the graph through the "
                     "simulated microphones and the recogniser (docs/hearing.md); without it only typed "
                     "commands do")
    sim.set_defaults(func=cmd_sim, namespace="", camera="sim", microphone=False, params_file=None,
                     use_sim_time=True, duration=None)

    _bag_parsers(sub)
    _lifecycle_parser(sub)
    _eval_parser(sub)
    _make_suite_parser(sub)

    for name, (_, text) in FORWARDED.items():
        sub.add_parser(name, help=text + " (mm-robot " + name + " --help)", add_help=False)
    for name, (_, _, text) in FORWARDED_ELSEWHERE.items():
        sub.add_parser(name, help=text + " (mm-robot " + name + " --help)", add_help=False)
    sub.add_parser("bench", help="measure model, live-graph latency and DDS delivery with their bounds "
                   "(mm-robot bench --help)", add_help=False)

    policy = sub.add_parser("sros2-policy", help="print the SROS2 access-control policy (docs/security.md)")
    policy.add_argument("--namespace", default="")
    policy.set_defaults(func=cmd_sros2_policy)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    _localhost_only()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in FORWARDED:
        return _forward(argv[0], argv[1:])
    if argv and argv[0] in FORWARDED_ELSEWHERE:
        return _forward_elsewhere(argv[0], argv[1:])
    if argv and argv[0] == "bench":
        return _bench(argv[1:])
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
