"""One string names a dataset everywhere on the command line:

* ``mpose2021`` / ``mpose2021:<extractor>`` / ``mpose2021:<extractor>:<split>`` (openpose,
  posenet, movenet; split 1-3) through the `mpose` package;
* ``lzq:<folder>``: the LZQ OpenPose HAR CSV files in <folder>, imported on the fly (see
  ``act-ros dataset import-lzq`` for the options; defaults here);
* a path to a ``.npz`` pose dataset (``act_ros/datasets/npz.py``).
"""

from __future__ import annotations

from pathlib import Path

from act_ros.datasets.npz import PoseDataset, load_npz_dataset

DATASET_HELP = (
    "dataset: mpose2021[:openpose|posenet|movenet[:1|2|3]], lzq:<csv folder>, or a .npz pose dataset file"
)


def load_dataset(source: str, window_length: int = 30) -> PoseDataset:
    if source.startswith("mpose2021"):
        from act_ros.datasets.mpose2021 import load_mpose2021

        parts = source.split(":")
        extractor = parts[1] if len(parts) > 1 and parts[1] else "openpose"
        split = int(parts[2]) if len(parts) > 2 else 1
        return load_mpose2021(extractor, split)
    if source.startswith("lzq:"):
        from act_ros.datasets.lzq import build_lzq_dataset

        return build_lzq_dataset(Path(source[4:]), window_length=window_length)
    path = Path(source)
    if path.suffix != ".npz":
        raise ValueError(f"cannot read dataset {source!r}; expected {DATASET_HELP}")
    return load_npz_dataset(path)
