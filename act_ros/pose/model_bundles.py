"""Offline MediaPipe PoseLandmarker model bundles (``.task``), built reproducibly from npm files.

mediapipe >= 0.10.30 (we pin 1.2.2, the newest line with aarch64 wheels) ships no models; its
Tasks API downloads ``pose_landmarker_*.task`` files from Google's storage in normal use, which
a robot without internet cannot do. This module builds the same kind of bundle from Apache-2.0
files on a package registry instead, with nothing but Python's standard library and mediapipe:

1. fetch the npm tarball ``@mediapipe/pose@0.5.1675469404`` from registry.npmjs.org with
   urllib (no node/npm needed) and verify its pinned sha512 (npm's ``dist.integrity``);
2. take ``pose_landmark_{lite,full,heavy}.tflite`` and the BlazePose detector, which is the only
   file inside ``pose_solution_packed_assets.data`` (its byte range read from the package's own
   ``pose_solution_packed_assets_loader.js``); check each input's pinned sha256;
3. add the TFLite metadata the Tasks API needs (image input with its normalisation: detector
   mean 127.5 / std 127.5, landmarks mean 0 / std 255) with mediapipe's own metadata writer;
4. store both models in an uncompressed zip (``pose_detector.tflite``,
   ``pose_landmarks_detector.tflite``) with fixed timestamps and attributes, so every build gives
   the same bytes; the sha256 of each output is pinned below and recorded in a manifest.

Bundles live in ``$ACT_ROS_MODEL_DIR`` or ``~/.cache/act_ros/pose_models`` (``$XDG_CACHE_HOME``
is honoured). ``act-ros pose-models --ensure`` (:mod:`act_ros.pose.models_cli`) builds what is missing and is a
quick no-op when the bundles are present and valid.

mediapipe 1.2.2's metadata writer imports a compiled helper that the wheel does not contain
(``mediapipe.tasks.cc.metadata.python._pywrap_metadata_version``, used only to stamp the
minimum metadata-parser version). :func:`_import_metadata_writer` supplies that one function
for the metadata we write (image-input normalisation only, which needs parser version 1.0.0)
and refuses metadata using any later schema feature.
"""

from __future__ import annotations

import gc
import hashlib
import io
import json
import logging
import sys
import types
import warnings
import zipfile
from pathlib import Path
from collections.abc import Iterable

from act_ros.cache import user_cache_dir
from act_ros.pose.npm_assets import (
    ModelAssetError,
    NpmTarball,
    atomic_write,
    read_members,
    read_packed_file,
    sha256_file,
)
from act_ros.pose.npm_assets import fetch_tarball as fetch_npm_tarball
from act_ros.pose.variants import MEDIAPIPE_VARIANTS as VARIANTS
from act_ros.pose.variants import check_variant

log = logging.getLogger(__name__)

# --- pinned sources ------------------------------------------------------------------------------
NPM_PACKAGE = "@mediapipe/pose"
NPM_VERSION = "0.5.1675469404"
TARBALL_NAME = f"mediapipe-pose-{NPM_VERSION}.tgz"
TARBALL_URL = f"https://registry.npmjs.org/{NPM_PACKAGE}/-/pose-{NPM_VERSION}.tgz"
# npm's dist.integrity of that version (sha512 of the tarball, base64).
TARBALL_SHA512 = "DFZsNWTsSphRIZppnUCuunzBiHP2FdJXR9ehc7mMi4KG+oPaOH0Em3d6kr7Py+TSyTXC1doH88KcF28k2sBxsQ=="
TARBALL_SIZE = 40_985_403
TARBALL = NpmTarball(NPM_PACKAGE, NPM_VERSION, TARBALL_SHA512, TARBALL_SIZE)

PACKED_ASSETS = "package/pose_solution_packed_assets.data"
# Lists the packed file's byte range: {"filename": ".../pose_detection/pose_detection.tflite",
# "start": 0, "end": 2962288} is the only entry.
PACKED_LOADER = "package/pose_solution_packed_assets_loader.js"
DETECTOR_NAME = "pose_detection.tflite"
LANDMARK_MEMBER = "package/pose_landmark_{variant}.tflite"

INPUT_SHA256 = {
    "detector": "a63c614bef30d35947f13be361820b1e4e3bec9cfeebf4d11216a18373108e85",
    "lite": "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
    "full": "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    "heavy": "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
}

# sha256 of the bundles this module builds with the pinned mediapipe (its metadata writer and
# flatbuffers produce the metadata bytes). Another mediapipe version may legitimately produce
# other bytes: that is reported, recorded in the manifest, and not an error.
PINNED_MEDIAPIPE = "1.2.2"
BUNDLE_SHA256: dict[str, str] = {
    "lite": "949af635f36f66e9d5d667f0a7c40b238dc6c1bb9ebcaf33f48743c06aca7697",
    "full": "5fc2db34309d5554fd4cfd9b1f2184fbec505c000a603aaafa2f94f3f51a5abb",
    "heavy": "361d044e414d06e4d558f736395f6bd5c3ab8a8cb3793a28a9bd823bee11bf5a",
}

DETECTOR_FILE = "pose_detector.tflite"
LANDMARKS_FILE = "pose_landmarks_detector.tflite"
MANIFEST = "bundles.json"
# Fixed zip entry attributes: the same input bytes give the same bundle bytes on every machine.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_ZIP_ALIGNMENT = 16  # TFLite wants aligned buffers; stored entries start on this boundary.

# Image-input normalisation of the two BlazePose models (what MediaPipe's graphs use).
_DETECTOR_NORM = (127.5, 127.5)  # [-1, 1]
_LANDMARKS_NORM = (0.0, 255.0)  # [0, 1]


class BundleError(ModelAssetError):
    """A bundle cannot be built or is invalid (with the reason and what to do)."""


def default_cache_dir() -> Path:
    """``$ACT_ROS_MODEL_DIR``, else ``$XDG_CACHE_HOME/act_ros/pose_models`` (~/.cache default)."""
    return user_cache_dir("pose_models", "ACT_ROS_MODEL_DIR")


def bundle_filename(variant: str) -> str:
    _check_variant(variant)
    return f"pose_landmarker_{variant}.task"


def _check_variant(variant: str) -> None:
    check_variant("mediapipe", variant)


# --- step 1: the npm tarball ----------------------------------------------------------------------
def tarball_path(cache_dir: Path | None = None) -> Path:
    return Path(cache_dir or default_cache_dir()) / "downloads" / TARBALL_NAME


def fetch_tarball(cache_dir: Path | None = None, *, progress: bool = True, timeout_s: float = 60.0) -> Path:
    """The verified npm tarball in the cache, downloaded with urllib when missing or corrupt."""
    hint = (
        f"The pose models are built from that npm tarball once and then work offline: run "
        f"`act-ros pose-models --ensure` on a machine with access to registry.npmjs.org, or "
        f"copy the tarball to {tarball_path()} (or finished *.task bundles to "
        f"{default_cache_dir()})"
    )
    try:
        return fetch_npm_tarball(
            TARBALL,
            tarball_path(cache_dir),
            url=TARBALL_URL,
            progress=progress,
            timeout_s=timeout_s,
            offline_hint=hint,
        )
    except BundleError:
        raise
    except ModelAssetError as exc:
        raise BundleError(str(exc)) from exc


# --- step 2: the raw models --------------------------------------------------------------------
def read_raw_models(tarball: Path, variant: str) -> tuple[bytes, bytes]:
    """(detector, landmark model) bytes for ``variant`` from the tarball, sha256-verified."""
    _check_variant(variant)
    member = LANDMARK_MEMBER.format(variant=variant)
    try:
        files = read_members(tarball, (PACKED_ASSETS, PACKED_LOADER, member))
        detector = read_packed_file(files[PACKED_ASSETS], files[PACKED_LOADER].decode(), DETECTOR_NAME)
    except ModelAssetError as exc:
        raise BundleError(f"{tarball.name}: {exc}") from exc
    landmarks = files[member]
    for name, data in (("detector", detector), (variant, landmarks)):
        got = hashlib.sha256(data).hexdigest()
        if got != INPUT_SHA256[name]:
            raise BundleError(f"{name} model in {tarball.name}: sha256 {got} != pinned {INPUT_SHA256[name]}")
    return detector, landmarks


# --- step 3: TFLite metadata ---------------------------------------------------------------------
def _import_metadata_writer() -> types.ModuleType:
    """mediapipe's ``metadata_writer`` module, importable on mediapipe 1.2.x (see module doc)."""
    shim_names: list[str] = []
    blocked_tf = False
    if "tensorflow" not in sys.modules:
        # metadata.py tries `import tensorflow` (for gfile): seconds of start-up for nothing.
        sys.modules["tensorflow"] = None  # type: ignore[assignment]
        blocked_tf = True
    try:
        version_mod = "mediapipe.tasks.cc.metadata.python._pywrap_metadata_version"
        try:
            import importlib

            importlib.import_module(version_mod)
        except ImportError:
            parts = version_mod.split(".")
            for i in range(3, len(parts) + 1):
                name = ".".join(parts[:i])
                if name not in sys.modules:
                    sys.modules[name] = types.ModuleType(name)
                    shim_names.append(name)
            sys.modules[version_mod].GetMinimumMetadataParserVersion = _minimum_parser_version  # type: ignore[attr-defined]
            setattr(sys.modules[".".join(parts[:-1])], parts[-1], sys.modules[version_mod])
        from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

        return metadata_writer
    finally:
        if blocked_tf:
            del sys.modules["tensorflow"]
        for name in reversed(shim_names):  # the metadata module keeps its own reference
            sys.modules.pop(name, None)


def _minimum_parser_version(metadata_buffer: bytes) -> str:
    """Stand-in for the compiled helper: the metadata we write needs parser version 1.0.0.

    Later schema features (subgraph process units, tensor groups, associated files, custom
    metadata, ...) would need a later version; refuse them rather than stamp a wrong one.
    """
    from mediapipe.tasks.metadata import metadata_schema_py_generated as fb

    md = fb.ModelMetadataT.InitFromObj(fb.ModelMetadata.GetRootAsModelMetadata(metadata_buffer, 0))
    unsupported = []
    if md.associatedFiles:
        unsupported.append("associated files")
    for sg in md.subgraphMetadata or []:
        for attr in (
            "inputProcessUnits",
            "outputProcessUnits",
            "inputTensorGroups",
            "outputTensorGroups",
            "customMetadata",
            "associatedFiles",
        ):
            if getattr(sg, attr, None):
                unsupported.append(attr)
        for tensor in (sg.inputTensorMetadata or []) + (sg.outputTensorMetadata or []):
            if tensor.associatedFiles:
                unsupported.append("tensor associated files")
            for unit in tensor.processUnits or []:
                if unit.optionsType != fb.ProcessUnitOptions.NormalizationOptions:
                    unsupported.append(f"process unit type {unit.optionsType}")
    if unsupported:
        raise BundleError(f"metadata uses features this writer shim does not version: {unsupported}")
    return "1.0.0"


def add_image_metadata(model: bytes, name: str, description: str, norm: tuple[float, float]) -> bytes:
    """``model`` with TFLite metadata describing its RGB image input and normalisation."""
    metadata_writer = _import_metadata_writer()
    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    try:
        writer.add_general_info(name, description)
        writer.add_image_input(norm_mean=[norm[0]], norm_std=[norm[1]])
        with_metadata, _json = writer.populate()
    finally:
        # The writer sits in a reference cycle; its __del__ fails if it first runs at
        # interpreter shutdown, so collect it (and its temporary folder) now.
        del writer
        gc.collect()
    return bytes(with_metadata)


# --- step 4: the bundle --------------------------------------------------------------------------
def _deterministic_zip(entries: Iterable[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3  # unix, whatever the building OS
            info.external_attr = 0o644 << 16
            # Pad the local header's extra field so the stored data starts aligned.
            header_end = buf.tell() + 30 + len(name.encode())
            pad = (-header_end - 4) % _ZIP_ALIGNMENT
            # 0xD935 is the id Android's zipalign uses for alignment padding.
            info.extra = (0xD935).to_bytes(2, "little") + pad.to_bytes(2, "little") + b"\0" * pad
            zf.writestr(info, data)
    return buf.getvalue()


def build_bundle_bytes(variant: str, tarball: Path) -> bytes:
    """The ``.task`` bundle for ``variant`` (deterministic: same inputs, same bytes)."""
    detector, landmarks = read_raw_models(tarball, variant)
    source = f"npm {NPM_PACKAGE}@{NPM_VERSION} (Apache-2.0); TFLite metadata added by act_ros"
    detector = add_image_metadata(detector, "BlazePose detector", source, _DETECTOR_NORM)
    landmarks = add_image_metadata(
        landmarks, f"BlazePose GHUM 3D landmarks ({variant})", source, _LANDMARKS_NORM
    )
    return _deterministic_zip([(DETECTOR_FILE, detector), (LANDMARKS_FILE, landmarks)])


def _mediapipe_version() -> str:
    try:
        from importlib.metadata import version

        return version("mediapipe")
    except Exception:  # noqa: BLE001 - only informative
        return "unknown"


def _read_manifest(cache_dir: Path) -> dict:
    try:
        return json.loads((cache_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def _write_manifest(cache_dir: Path, manifest: dict) -> None:
    atomic_write(cache_dir / MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())


def build_bundle(variant: str, cache_dir: Path | None = None, *, progress: bool = True) -> Path:
    """Build (or rebuild) one bundle into the cache; returns its path."""
    cache = Path(cache_dir or default_cache_dir())
    tarball = fetch_tarball(cache, progress=progress)
    data = build_bundle_bytes(variant, tarball)
    digest = hashlib.sha256(data).hexdigest()
    pinned = BUNDLE_SHA256.get(variant)
    mp_version = _mediapipe_version()
    if pinned and digest != pinned:
        msg = (
            f"pose_landmarker_{variant}.task built with mediapipe {mp_version}: sha256 {digest} "
            f"differs from the build pinned for mediapipe {PINNED_MEDIAPIPE} ({pinned})"
        )
        if mp_version == PINNED_MEDIAPIPE:
            raise BundleError(msg + ": the build is not reproducible here, please report it")
        warnings.warn(msg + " (metadata writer changed); recorded in the manifest", stacklevel=2)
    path = cache / bundle_filename(variant)
    atomic_write(path, data)
    manifest = _read_manifest(cache)
    manifest[variant] = {
        "file": path.name,
        "sha256": digest,
        "size": len(data),
        "source": f"{TARBALL_URL} sha512-{TARBALL_SHA512}",
        "mediapipe": mp_version,
        "matches_pinned": digest == pinned,
    }
    _write_manifest(cache, manifest)
    log.info("built %s (%d bytes, sha256 %s)", path, len(data), digest)
    return path


def bundle_status(variant: str, cache_dir: Path | None = None) -> str:
    """'ok', 'missing', or a reason the cached bundle is invalid."""
    cache = Path(cache_dir or default_cache_dir())
    path = cache / bundle_filename(variant)
    if not path.exists():
        return "missing"
    digest = sha256_file(path)
    recorded = _read_manifest(cache).get(variant, {}).get("sha256")
    if digest == BUNDLE_SHA256.get(variant) or digest == recorded:
        return "ok"
    return f"checksum mismatch (sha256 {digest[:16]}..., expected {(BUNDLE_SHA256.get(variant) or recorded or '?')[:16]}...)"


def bundle_path(variant: str = "full", cache_dir: Path | None = None) -> Path:
    """Path of a valid bundle for ``variant``, building it on first use.

    Raises :class:`BundleError` with instructions when it is absent and cannot be built
    (e.g. offline without the npm tarball in the cache).
    """
    _check_variant(variant)
    cache = Path(cache_dir or default_cache_dir())
    status = bundle_status(variant, cache)
    if status == "ok":
        return cache / bundle_filename(variant)
    if status != "missing":
        log.warning("pose model bundle %s: %s; rebuilding", bundle_filename(variant), status)
    return build_bundle(variant, cache)


def ensure_bundles(variants: Iterable[str] = VARIANTS, cache_dir: Path | None = None) -> dict[str, Path]:
    """Valid bundles for every variant (built when missing or invalid): variant -> path."""
    variants = list(variants)
    for v in variants:
        _check_variant(v)
    return {v: bundle_path(v, cache_dir) for v in variants}
