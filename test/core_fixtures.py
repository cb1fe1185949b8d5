"""Shared helpers for the core tests: the real LZQ data (act_ros/data), small real datasets."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
from act_ros.data import lzq_data_dir  # noqa: E402

LZQ_DIR = lzq_data_dir()


@functools.cache
def lzq_dataset(window_length: int = 30, stride: int = 5):
    from act_ros.datasets.lzq import build_lzq_dataset

    return build_lzq_dataset(LZQ_DIR, window_length=window_length, stride=stride)


def lzq_windows(n: int = 24, window_length: int = 30) -> np.ndarray:
    """(n, T, 17, 3) real COCO-17 windows in pixels, spread over all classes."""
    ds = lzq_dataset(window_length)
    idx = np.linspace(0, len(ds) - 1, n).astype(int)
    return ds.poses[idx].astype(np.float64)


def small_lzq_npz(path: Path, stride: int = 6) -> Path:
    """A small real dataset file (LZQ, every ``stride``-th window) with train/val/test."""
    from act_ros.datasets.lzq import build_lzq_dataset

    build_lzq_dataset(LZQ_DIR, window_length=30, stride=stride).save(path)
    return path


@functools.cache
def trained_micro(seed: int = 0) -> Path:
    """Train AcT-micro for a few epochs on small real data, once per test process, and export
    it. Returns the run folder; the model is ``<run>/act_micro.tflite``."""
    import tempfile

    from act_ros.training import export, train

    root = Path(tempfile.mkdtemp(prefix="act_core_test_"))
    data = small_lzq_npz(root / "lzq_small.npz")
    run = root / f"run_{seed}"
    assert (
        train.main(
            [
                "--dataset",
                str(data),
                "--size",
                "micro",
                "--epochs",
                "4",
                "--batch-size",
                "64",
                "--seed",
                str(seed),
                "--output",
                str(run),
                "--quiet",
            ]
        )
        == 0
    )
    assert export.main([str(run), "-o", str(run / "act_micro.tflite")]) == 0
    return run


# --- model files: copies of the shipped models, edited the ways issue 11 broke them ----------
def model_copy_of(size: str, folder: Path) -> Path:
    """A writable copy of the shipped model of ``size`` and its readable description."""
    import shutil

    from act_ros.model_spec import sidecar_path
    from act_ros.runtime import shipped_model_path

    src = shipped_model_path(size)
    dst = Path(folder) / src.name
    shutil.copy(src, dst)
    shutil.copy(sidecar_path(src), sidecar_path(dst))
    return dst


def edit_sidecar(model: Path, **changes) -> None:
    """Change the readable description and re-hash it (what an editor of the JSON would do)."""
    import json

    from act_ros.model_spec import file_sha256, sidecar_path

    side = sidecar_path(model)
    data = json.loads(side.read_text())
    data.update(changes, sha256=file_sha256(model))
    side.write_text(json.dumps(data, indent=2))


def embed_raw(model: Path, **changes) -> None:
    """Change the embedded description without the export's validation, and its copy to match."""
    import json

    from act_ros.model_spec import EMBEDDED_NAME
    from act_ros.tflite_file import read_tflite, with_metadata

    data = json.loads(read_tflite(model).metadata[EMBEDDED_NAME])
    data.update(changes)
    model.write_bytes(with_metadata(model.read_bytes(), EMBEDDED_NAME, json.dumps(data).encode()))
    edit_sidecar(model, **changes)


def legacy_copy(size: str, folder: Path) -> Path:
    """The shipped model as act_ros exported it before descriptions were embedded (format 1:
    nothing in the .tflite, the description only in the sidecar)."""
    from act_ros.model_spec import EMBEDDED_NAME
    from act_ros.tflite_file import with_metadata

    model = model_copy_of(size, folder)
    model.write_bytes(with_metadata(model.read_bytes(), EMBEDDED_NAME, None))
    edit_sidecar(model, format_version=1)
    return model


def rename_tensors(model: Path, old: str, new: str) -> None:
    """Rename every tensor whose name contains ``old`` (a graph exported by another tool)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    tree = schema.ModelT.InitFromPackedBuf(bytearray(model.read_bytes()), 0)
    for tensor in tree.subgraphs[0].tensors:
        tensor.name = tensor.name.replace(old.encode(), new.encode())
    builder = flatbuffers.Builder(0)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    model.write_bytes(bytes(builder.Output()))
    edit_sidecar(model)


@functools.lru_cache(maxsize=1)
def lzq_sequences() -> dict[str, np.ndarray]:
    """One real recording per class of the LZQ data: class -> (F, 17, 3) COCO-17 pixels.

    These recordings are also the shipped model's training data; the tests use them to check
    that the node reproduces the offline pipeline, not to measure accuracy.
    """
    from act_ros.datasets.lzq import read_recordings
    from act_ros.layouts import COCO18, to_coco17

    out: dict[str, np.ndarray] = {}
    for rec in read_recordings(LZQ_DIR):
        if rec.class_name not in out and len(rec.frames) >= 60:
            out[rec.class_name] = to_coco17(rec.frames, COCO18).astype(np.float32)
    return out


def three_frame_pose_bag(path: Path) -> tuple[np.ndarray, list]:
    """A pose bag of 3 real LZQ frames of one person (track 1) at ``path``: the keypoints
    (3, 1, 17, 3) and the bag's (timestamp, rosbags message) pairs."""
    from act_ros.bag.bag_io import inspect_bag, iter_messages
    from act_ros.bag.make_bag import write_pose_bag
    from act_ros.bag.pose_datasets import PoseSequence

    kp = next(iter(lzq_sequences().values()))[:3, None].astype(np.float32)
    write_pose_bag(
        [PoseSequence(kp[:, 0], ["walk"] * 3)],
        path,
        ["walk"],
        fps=10,
        image_size=(640, 480),
        start_time_ns=10**9,
        progress=False,
    )
    info = inspect_bag(path)
    return kp, list(iter_messages(info.path, info.input_topic, info.input_type))


def random_image_pixels(encoding: str, rng: np.random.Generator) -> np.ndarray:
    """Random 4-row pixels of a sensor_msgs/Image encoding (act_ros.messages.ENCODINGS)."""
    from act_ros.messages import ENCODINGS

    channels = ENCODINGS[encoding].channels
    width = 6 if channels == 2 else 5  # packed 4:2:2 holds pixel pairs
    return rng.integers(0, 256, (4, width, channels) if channels > 1 else (4, width), np.uint8)


def image_fields_with_padding(pixels: np.ndarray, encoding: str, pad: int = 0) -> tuple[dict, np.ndarray]:
    """sensor_msgs/Image fields and data bytes for these pixels, each row padded by ``pad``
    bytes (``step`` says so): what a camera driver with aligned rows sends."""
    h, w = pixels.shape[:2]
    rows = np.ascontiguousarray(pixels).reshape(h, -1)
    padded = np.zeros((h, rows.shape[1] + pad), np.uint8)
    padded[:, : rows.shape[1]] = rows
    return dict(height=h, width=w, encoding=encoding, is_bigendian=0, step=padded.shape[1]), padded


def rosbags_image(pixels: np.ndarray, encoding: str, pad: int = 0):
    """The rosbags sensor_msgs/Image (what bags hold) of these pixels, rows padded by ``pad``."""
    from act_ros.bag import images as bag_images
    from act_ros.bag.types import typestore

    fields, padded = image_fields_with_padding(pixels, encoding, pad)
    return typestore().types["sensor_msgs/msg/Image"](
        header=bag_images.header(0, "c"), **fields, data=padded.reshape(-1)
    )
