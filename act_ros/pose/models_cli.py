"""`act-ros pose-models`: build, check or rebuild every offline pose model file.

The MediaPipe PoseLandmarker bundles (:mod:`act_ros.pose.model_bundles`) and the top-down
backend's person detector and landmark models (:mod:`act_ros.pose.topdown_models`), from the
same cache folder; a no-op when everything is present and valid.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from act_ros.pose import topdown_models
from act_ros.pose.model_bundles import (
    NPM_PACKAGE,
    NPM_VERSION,
    VARIANTS,
    _check_variant,
    build_bundle,
    bundle_filename,
    bundle_path,
    bundle_status,
    default_cache_dir,
)
from act_ros.pose.npm_assets import ModelAssetError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="act-ros pose-models",
        description="Build or check the offline pose models: the MediaPipe PoseLandmarker bundles "
        f"(.task) made from the Apache-2.0 models of npm {NPM_PACKAGE}@{NPM_VERSION}, and the "
        "top-down backend's person detector and landmark models (act_ros.pose.topdown_models).",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--ensure",
        action="store_true",
        help="build missing or invalid files (default; a no-op when all are valid)",
    )
    mode.add_argument(
        "--check",
        action="store_true",
        help="only verify the cached files; exit 1 if any is missing or invalid",
    )
    mode.add_argument("--rebuild", action="store_true", help="build again even when valid")
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="comma-separated subset of lite,full,heavy (default: all)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help=f"model folder (default: $ACT_ROS_MODEL_DIR or {default_cache_dir()})",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    try:
        for v in variants:
            _check_variant(v)
    except ValueError as exc:
        parser.error(str(exc))
    cache = args.cache_dir or default_cache_dir()

    if args.check:
        bad = 0
        for v in variants:
            status = bundle_status(v, cache)
            print(f"{v:6s} {status:10s} {cache / bundle_filename(v)}")
            bad += status != "ok"
        for name, status in topdown_models.status(variants, cache).items():
            print(f"topdown {status:10s} {topdown_models.models_dir(cache) / name}")
            bad += status != "ok"
        return 1 if bad else 0
    try:
        for v in variants:
            path = build_bundle(v, cache) if args.rebuild else bundle_path(v, cache)
            print(f"{v:6s} ok         {path}")
        if args.rebuild:
            for name in topdown_models.status(variants, cache):
                (topdown_models.models_dir(cache) / name).unlink(missing_ok=True)
        for path in topdown_models.ensure_models(variants, cache).values():
            print(f"topdown ok         {path}")
    except ModelAssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
