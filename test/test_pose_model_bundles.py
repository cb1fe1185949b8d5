"""Offline MediaPipe model bundles: reproducible, checksum-verified, and loadable by mediapipe.

Real files throughout: the npm tarball (fetched once into the user cache by the module itself),
mediapipe's metadata writer, and the Tasks API loading the result.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from act_ros.pose import model_bundles as mb
from act_ros.pose import models_cli


@pytest.fixture(scope="module")
def tarball() -> Path:
    """The verified npm tarball in the default cache (downloaded on first use)."""
    return mb.fetch_tarball(progress=False)


@pytest.fixture
def cache_with_tarball(tmp_path, tarball) -> Path:
    """An empty model cache that already holds the npm tarballs (no second download): the
    MediaPipe one, and the one `--ensure` takes the top-down detector from."""
    from act_ros.pose import topdown_models as tm

    target = mb.tarball_path(tmp_path)
    target.parent.mkdir(parents=True)
    shutil.copyfile(tarball, target)
    tm.detector_files(progress=False)  # the objectron tarball in the default cache
    name = tm.OBJECTRON.filename
    shutil.copyfile(mb.default_cache_dir() / "downloads" / name, target.parent / name)
    return tmp_path


def test_build_is_byte_reproducible_and_matches_the_pinned_checksum(tarball):
    first = mb.build_bundle_bytes("lite", tarball)
    second = mb.build_bundle_bytes("lite", tarball)
    assert first == second
    assert hashlib.sha256(first).hexdigest() == mb.BUNDLE_SHA256["lite"]


def test_bundle_layout_is_what_the_tasks_api_reads(tarball):
    data = mb.build_bundle_bytes("full", tarball)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == [mb.DETECTOR_FILE, mb.LANDMARKS_FILE]
        for info in infos:
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            # stored data starts on an aligned offset (TFLite can use the buffers in place)
            local_header = 30 + len(info.filename) + len(info.extra)
            assert (info.header_offset + local_header) % 16 == 0
        detector = zf.read(mb.DETECTOR_FILE)
        landmarks = zf.read(mb.LANDMARKS_FILE)
    # The models carry image-input metadata with each model's normalisation.
    md = mb._import_metadata_writer().metadata  # mediapipe's metadata module, as the writer uses it

    for model, (mean, std) in ((detector, (127.5, 127.5)), (landmarks, (0.0, 255.0))):
        info = md.MetadataDisplayer.with_model_buffer(model).get_metadata_json()
        assert '"NormalizationOptions"' in info and '"min_parser_version": "1.0.0"' in info
        assert f"{mean}" in info and f"{std}" in info
        assert "@mediapipe/pose@0.5.1675469404" in info


def test_bundle_path_builds_once_then_reuses(cache_with_tarball):
    cache = cache_with_tarball
    assert mb.bundle_status("lite", cache) == "missing"
    path = mb.bundle_path("lite", cache)
    assert path == cache / "pose_landmarker_lite.task"
    assert mb.sha256_file(path) == mb.BUNDLE_SHA256["lite"]
    manifest = mb._read_manifest(cache)["lite"]
    assert manifest["sha256"] == mb.BUNDLE_SHA256["lite"] and manifest["matches_pinned"]
    mtime = path.stat().st_mtime_ns
    assert mb.bundle_path("lite", cache) == path and path.stat().st_mtime_ns == mtime  # no rebuild
    assert models_cli.main(["--ensure", "--variants", "lite", "--cache-dir", str(cache)]) == 0
    assert path.stat().st_mtime_ns == mtime


def test_corrupt_bundle_is_detected_and_rebuilt(cache_with_tarball, capsys):
    cache = cache_with_tarball
    path = mb.bundle_path("lite", cache)
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    assert mb.bundle_status("lite", cache).startswith("checksum mismatch")
    assert models_cli.main(["--check", "--variants", "lite", "--cache-dir", str(cache)]) == 1
    assert "checksum mismatch" in capsys.readouterr().out
    mb.bundle_path("lite", cache)  # rebuilds
    assert mb.bundle_status("lite", cache) == "ok"
    assert (
        models_cli.main(["--check", "--variants", "lite", "--cache-dir", str(cache)]) == 1
    )  # no top-down files
    assert models_cli.main(["--ensure", "--variants", "lite", "--cache-dir", str(cache)]) == 0
    assert models_cli.main(["--check", "--variants", "lite", "--cache-dir", str(cache)]) == 0


def test_check_reports_missing_bundles(tmp_path, capsys):
    assert models_cli.main(["--check", "--cache-dir", str(tmp_path)]) == 1
    statuses = [line.split()[:2] for line in capsys.readouterr().out.splitlines()]
    assert statuses[:3] == [["lite", "missing"], ["full", "missing"], ["heavy", "missing"]]
    assert statuses[3:] == [["topdown", "missing"]] * 5  # detector, label map, 3 landmark models


def test_tampered_model_inside_the_tarball_is_refused(tmp_path, tarball):
    # A tarball with the right member names but other bytes (e.g. a different npm version).
    fake = tmp_path / "fake.tgz"
    with tarfile.open(tarball) as src, tarfile.open(fake, "w:gz") as dst:
        for name in (mb.PACKED_ASSETS, mb.PACKED_LOADER, mb.LANDMARK_MEMBER.format(variant="lite")):
            data = bytearray(src.extractfile(name).read())
            if name == mb.PACKED_ASSETS:
                data[100] ^= 1
            info = tarfile.TarInfo(name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(bytes(data)))
    with pytest.raises(mb.BundleError, match="detector model .* sha256"):
        mb.read_raw_models(fake, "lite")


def test_offline_without_tarball_fails_with_instructions(tmp_path, monkeypatch):
    # A real connection attempt to a closed local port: what an offline robot sees.
    monkeypatch.setattr(mb, "TARBALL_URL", "http://127.0.0.1:9/pose.tgz")
    monkeypatch.setenv("ACT_ROS_MODEL_DIR", str(tmp_path))
    with pytest.raises(mb.BundleError, match="cannot download .*--ensure"):
        mb.bundle_path("full")
    assert not any(p.suffix == ".task" for p in tmp_path.rglob("*"))
    assert models_cli.main(["--ensure", "--variants", "full"]) == 1


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ACT_ROS_MODEL_DIR", str(tmp_path / "models"))
    assert mb.default_cache_dir() == tmp_path / "models"
    monkeypatch.delenv("ACT_ROS_MODEL_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mb.default_cache_dir() == tmp_path / "xdg" / "act_ros" / "pose_models"


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="lite, full, heavy"):
        mb.bundle_path("huge")


@pytest.mark.parametrize("variant", mb.VARIANTS)
def test_every_bundle_runs_in_mediapipe(variant):
    """The cached bundle of each variant loads in the Tasks API and finds messi5.jpg's player."""
    from footage import messi_path
    from pose_fixtures import read_image_rgb

    from act_ros.pose.mediapipe_backend import MediaPipePoseEstimator

    with MediaPipePoseEstimator(variant=variant, num_poses=1) as est:
        assert est.model_path == str(mb.bundle_path(variant))
        det = est.estimate(read_image_rgb(messi_path()), 0)
    assert len(det) == 1
    assert (det.keypoints[0, :, 2] > 0.5).sum() >= 12
    assert os.path.basename(est.model_path) == f"pose_landmarker_{variant}.task"
    assert np.isfinite(det.keypoints).all()


@pytest.mark.slow
def test_a_fresh_machine_downloads_the_npm_package_and_builds_a_bundle(tmp_path):
    """The path `make demo` takes on a new machine, from an empty cache: the tarball really is
    downloaded from the npm registry and the bundle built (issue 11, item 13: the developers'
    machines all had the cache, so this path went untested)."""
    import subprocess
    import sys

    cache = tmp_path / "empty_model_dir"
    env = {**os.environ, "ACT_ROS_MODEL_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-m", "act_ros.cli", "pose-models", "--ensure", "--variants", "lite"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"lite   ok         {cache / 'pose_landmarker_lite.task'}" in done.stdout
    assert "downloading @mediapipe/pose@" in done.stderr  # not taken from another cache
    bundle = cache / mb.bundle_filename("lite")
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() == mb.BUNDLE_SHA256["lite"]
    assert mb.tarball_path(cache).is_file()
