"""The `act-ros` command: one entry point, one module per sub-command.

Sub-command modules are imported only when used, so `act-ros run` never imports TensorFlow and
`act-ros train` never imports rclpy. Each module exposes ``main(argv: list[str] | None) -> int``
with its own argparse parser.
"""

from __future__ import annotations

import importlib
import os
import sys

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("act_ros.ros.run", "run the pose and AcT nodes on a video, camera or bag"),
    "train": ("act_ros.training.train", "train an AcT model (MPOSE2021, .npz, or CSV import)"),
    "evaluate": ("act_ros.evaluate_cli", "score a model on a dataset, or the running nodes on a bag"),
    "export": ("act_ros.training.export", "export a trained model to TFLite with its description"),
    "calibrate": (
        "act_ros.training.calibrate",
        "fit the temperature and the 'unknown' threshold into a model's description",
    ),
    "bench": ("act_ros.bench", "latency table of AcT sizes x threads x batch vs a matmul peak"),
    "study": ("act_ros.training.study", "paper-style studies: attention maps, frame removal"),
    "dataset": ("act_ros.datasets.cli", "convert/inspect pose datasets (.npz, LZQ CSV, MPOSE2021)"),
    "make-bag": ("act_ros.bag.make_bag", "write a labelled ROS 2 bag from a video or pose dataset"),
    "pose-models": (
        "act_ros.pose.models_cli",
        "build/check the offline pose models (top-down and MediaPipe)",
    ),
}


def _usage() -> str:
    width = max(len(n) for n in SUBCOMMANDS)
    lines = ["usage: act-ros <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines += ["", "`act-ros <command> --help` describes each command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from act_ros import __version__

        print(__version__)
        return 0
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"act-ros: unknown command '{name}'\n\n{_usage()}", file=sys.stderr)
        return 2
    # TensorFlow and LiteRT read this when first imported: keep their start-up chatter out.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    module = importlib.import_module(SUBCOMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
