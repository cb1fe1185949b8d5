"""The top-down backend's model files: taken from the real npm tarballs by the ranges the packages'
own loader scripts declare, checksum-verified, repaired offline, and clear errors by file name."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from act_ros.pose import model_bundles as mb
from act_ros.pose import models_cli
from act_ros.pose import topdown_models as tm
from act_ros.pose.npm_assets import (
    ModelAssetError,
    packed_asset_ranges,
    read_members,
    read_packed_file,
)
from act_ros.pose.person_detector import SsdPersonDetector, ssd_anchors


@pytest.fixture(scope="module")
def objectron_tarball() -> Path:
    """The verified @mediapipe/objectron tarball in the default cache (fetched on first use)."""
    tm.detector_files(progress=False)
    path = mb.default_cache_dir() / "downloads" / tm.OBJECTRON.filename
    assert path.is_file()
    return path


@pytest.fixture
def cache_with_tarballs(tmp_path, objectron_tarball) -> Path:
    """An empty model cache holding both npm tarballs (no download)."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    shutil.copyfile(objectron_tarball, downloads / tm.OBJECTRON.filename)
    shutil.copyfile(mb.fetch_tarball(progress=False), mb.tarball_path(tmp_path))
    return tmp_path


def test_loader_script_declares_the_detector_range(objectron_tarball):
    files = read_members(objectron_tarball, (tm.OBJECTRON_PACKED, tm.OBJECTRON_LOADER))
    ranges = packed_asset_ranges(files[tm.OBJECTRON_LOADER].decode())
    assert ranges[tm.LABELMAP_FILE] == (0, 184)
    assert ranges[tm.DETECTOR_FILE] == (184, 9_987_912)
    assert ranges[""] == (0, len(files[tm.OBJECTRON_PACKED]))
    labels = (
        read_packed_file(files[tm.OBJECTRON_PACKED], files[tm.OBJECTRON_LOADER].decode(), tm.LABELMAP_FILE)
        .decode()
        .splitlines()
    )
    assert len(labels) == 24 and labels[4] == "Person"


def test_a_repacked_asset_file_is_refused(objectron_tarball):
    files = read_members(objectron_tarball, (tm.OBJECTRON_PACKED, tm.OBJECTRON_LOADER))
    loader = files[tm.OBJECTRON_LOADER].decode()
    with pytest.raises(ModelAssetError, match="loader declares 9987912"):
        read_packed_file(files[tm.OBJECTRON_PACKED][:-10], loader, tm.DETECTOR_FILE)
    with pytest.raises(ModelAssetError, match="not in the packed assets"):
        read_packed_file(files[tm.OBJECTRON_PACKED], loader, "missing.tflite")
    with pytest.raises(ModelAssetError, match="no loadPackage"):
        packed_asset_ranges("var x = 1;")


def test_files_are_extracted_once_with_notice_and_licence(cache_with_tarballs):
    cache = cache_with_tarballs
    assert set(tm.status(cache_dir=cache).values()) == {"missing"}
    paths = tm.ensure_models(cache_dir=cache, progress=False)
    assert set(tm.status(cache_dir=cache).values()) == {"ok"}
    folder = tm.models_dir(cache)
    assert sorted(p.name for p in paths.values()) == sorted(
        [tm.DETECTOR_FILE, tm.LABELMAP_FILE] + [f"pose_landmark_{v}.tflite" for v in tm.VARIANTS]
    )
    notice = (folder / tm.NOTICE_FILE).read_text()
    for name in paths:
        assert name in notice
    assert notice.count("licence: Apache-2.0") == len(paths)
    assert "@mediapipe/objectron@0.4.1675468480" in notice and "@mediapipe/pose@0.5.1675469404" in notice
    assert "Apache License" in (folder / tm.LICENSE_FILE).read_text()
    mtime = (folder / tm.DETECTOR_FILE).stat().st_mtime_ns
    tm.ensure_models(cache_dir=cache, progress=False)
    assert (folder / tm.DETECTOR_FILE).stat().st_mtime_ns == mtime  # no second extraction


def test_a_corrupt_cached_detector_is_extracted_again_offline(cache_with_tarballs, monkeypatch):
    cache = cache_with_tarballs
    model, _ = tm.detector_files(cache, progress=False)
    model.write_bytes(model.read_bytes()[:1000])
    assert tm.status(cache_dir=cache)[tm.DETECTOR_FILE].startswith("checksum mismatch")
    from act_ros.pose import npm_assets

    # Offline (a closed local port as the registry): the cached tarball is enough.
    monkeypatch.setattr(npm_assets, "REGISTRY", "http://127.0.0.1:9")
    again, _ = tm.detector_files(cache, progress=False)
    assert again == model and tm.status(cache_dir=cache)[tm.DETECTOR_FILE] == "ok"


def test_offline_without_tarball_names_the_missing_file(tmp_path, monkeypatch):
    from act_ros.pose import npm_assets

    # A real connection attempt to a closed local port: what an offline robot sees.
    monkeypatch.setattr(npm_assets, "REGISTRY", "http://127.0.0.1:9")
    with pytest.raises(ModelAssetError) as err:
        tm.detector_files(tmp_path, progress=False)
    text = str(err.value)
    assert tm.DETECTOR_FILE in text and "cannot download" in text and "--ensure" in text
    assert not (tm.models_dir(tmp_path) / tm.DETECTOR_FILE).exists()


def test_pose_models_command_ensures_and_checks_both_kinds(cache_with_tarballs, capsys):
    cache = str(cache_with_tarballs)
    assert models_cli.main(["--check", "--variants", "lite", "--cache-dir", cache]) == 1
    assert models_cli.main(["--ensure", "--variants", "lite", "--cache-dir", cache]) == 0
    out = capsys.readouterr().out
    assert tm.DETECTOR_FILE in out and "pose_landmark_lite.tflite" in out
    assert models_cli.main(["--check", "--variants", "lite", "--cache-dir", cache]) == 0


def test_missing_or_corrupt_detector_fails_at_start_naming_the_file(tmp_path):
    from act_ros.pose import create_estimator

    missing = tmp_path / "nowhere" / "detector.tflite"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        create_estimator("topdown", detector_path=missing)
    model, labels = tm.detector_files(progress=False)
    corrupt = tmp_path / "detector.tflite"
    corrupt.write_bytes(model.read_bytes()[: 1 << 16])  # truncated
    with pytest.raises(RuntimeError, match=f"person detector model {corrupt}"):
        create_estimator("topdown", detector_path=corrupt)
    wrong = tm.landmark_model_path("lite", progress=False)  # a real TFLite model, the wrong one
    with pytest.raises(ValueError, match="not the expected SSD person detector"):
        SsdPersonDetector(wrong, labels)
    no_labels = tmp_path / "labels.txt"
    with pytest.raises(FileNotFoundError, match=str(no_labels)):
        create_estimator("topdown", labelmap_path=no_labels)
    with pytest.raises(FileNotFoundError, match="pose landmark model not found"):
        create_estimator("topdown", model_path=tmp_path / "landmarks.tflite")


def test_anchors_match_the_model():
    anchors = ssd_anchors()
    assert anchors.shape == (1917, 4)
    # First layer: 19x19 cells x 3 boxes, centres on the cell grid; the last layer is one cell.
    assert np.allclose(anchors[0, :2], [0.5 / 19, 0.5 / 19])
    assert np.allclose(anchors[-6:, :2], 0.5)
    assert np.allclose(
        anchors[:3, 2:],
        [[0.1, 0.1], [0.2 * np.sqrt(2), 0.2 / np.sqrt(2)], [0.2 / np.sqrt(2), 0.2 * np.sqrt(2)]],
        atol=1e-6,
    )
