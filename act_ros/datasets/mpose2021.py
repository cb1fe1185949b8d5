"""MPOSE2021 through the `mpose` package (downloads the archive when online; works offline once
``~/.mpose/<extractor>.zip`` and its extracted folder exist in mpose's cache).

Raw poses are taken (mpose's own preprocessing is not used: ours is the one the node runs).
"""

from __future__ import annotations

import numpy as np

from act_ros.datasets.npz import PoseDataset
from act_ros.layouts import BODY25, COCO17

EXTRACTOR_LAYOUTS = {"openpose": BODY25, "posenet": COCO17, "movenet": COCO17}
SPLITS = (1, 2, 3)


def load_mpose2021(extractor: str = "openpose", split: int = 1, verbose: bool = False) -> PoseDataset:
    """MPOSE2021 ``extractor`` / ``split`` (by actor) with ``split`` = train/test per sample.

    Validation is drawn from the training part by the trainer (paper: stratified random 10%).
    """
    if extractor not in EXTRACTOR_LAYOUTS:
        raise ValueError(
            f"unknown MPOSE2021 pose extractor {extractor!r}; known: {', '.join(EXTRACTOR_LAYOUTS)}"
        )
    if int(split) not in SPLITS:
        raise ValueError(f"MPOSE2021 split must be one of {SPLITS}, got {split}")
    try:
        from mpose import MPOSE
    except ImportError as exc:
        raise ImportError(
            "MPOSE2021 needs the `mpose` package (pip install mpose==1.2, in requirements/train.txt)"
        ) from exc
    data = MPOSE(
        pose_extractor=extractor,
        split=int(split),
        preprocess=None,
        velocities=False,
        remove_zip=False,
        verbose=verbose,
    )
    x_train, y_train, _, x_test, y_test, _ = data.get_data(seq_id=True)
    labels = data.get_labels()
    class_names = tuple(sorted(labels, key=labels.get))
    poses = np.concatenate([x_train, x_test]).astype(np.float32)
    return PoseDataset(
        poses=poses,
        labels=np.concatenate([y_train, y_test]).astype(np.int64),
        class_names=class_names,
        keypoint_layout=EXTRACTOR_LAYOUTS[extractor],
        split=np.array(["train"] * len(y_train) + ["test"] * len(y_test)),
        frame_rate=None,
        source=f"MPOSE2021 {extractor} split {split}",
    )
