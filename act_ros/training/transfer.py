"""The datasets of the transfer protocol, cut from the training mix (``act-ros dataset
build-mix``) by the taxonomy's ``model_classes`` and ``unknown_actions``:

* ``synthetic``: motion capture only (CMU + HDM05), the known classes, split by subject as the
  taxonomy says: trains the study models; its test subjects are metric (b), leave-subjects-out;
* ``lzq``: the real LZQ recordings of the known classes, never trained on in the study:
  metric (a), synthetic -> real;
* ``unknown``: windows of the held-out actions (``tune``: choose the reject rule; ``test``:
  measure it), never trained on by any model;
* ``full``: every source, the known classes, validation subjects kept apart (checkpoint and
  temperature), everyone else trains: the shipped models.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from act_ros.datasets.npz import PoseDataset

SYNTHETIC_SOURCES = ("cmu", "hdm05")


def select_classes(ds: PoseDataset, names: tuple[str, ...] | list[str]) -> PoseDataset:
    """The samples of classes ``names``, relabelled in that order (the model's class list)."""
    names = tuple(names)
    missing = [n for n in names if n not in ds.class_names]
    if missing:
        raise ValueError(f"classes {missing} are not in the dataset ({list(ds.class_names)})")
    own = np.array([ds.class_names[i] for i in ds.labels])
    sub = ds.subset(np.isin(own, names))
    mapping = np.array([names.index(n) if n in names else -1 for n in ds.class_names])
    return replace(sub, labels=mapping[sub.labels], class_names=names)


def from_sources(ds: PoseDataset, sources: tuple[str, ...]) -> PoseDataset:
    if ds.sample_source is None:
        raise ValueError("the dataset has no sample_source column (build it with build-mix)")
    return ds.subset(np.isin(ds.sample_source, sources))


def protocol_datasets(
    mix: PoseDataset, known: tuple[str, ...], unknown_tune: tuple[str, ...], unknown_test: tuple[str, ...]
) -> dict[str, PoseDataset]:
    """The four datasets of the module docstring, from the mix."""
    synthetic = select_classes(from_sources(mix, SYNTHETIC_SOURCES), known)
    lzq = select_classes(from_sources(mix, ("lzq",)), known)  # the model's label space
    lzq = replace(lzq, split=np.full(len(lzq), "test"))
    unknown_names = tuple(unknown_tune) + tuple(unknown_test)
    unknown = select_classes(mix, [c for c in unknown_names if c in mix.class_names])
    unknown = replace(
        unknown,
        split=np.array(["val" if unknown.class_names[i] in unknown_tune else "test" for i in unknown.labels]),
    )
    full = select_classes(mix, known)
    full = replace(full, split=np.where(full.split == "val", "val", "train"))
    return {"synthetic": synthetic, "lzq": lzq, "unknown": unknown, "full": full}
