"""The training mix: synthesized 2-D windows of the CMU and HDM05 captures plus the real LZQ
recordings, in one ``.npz`` pose dataset (``act-ros dataset build-mix``).

Every sample carries its subject (``cmu:<subject>``, ``hdm05:<actor>``, ``lzq:person``), its
source, its camera and its speed; the split column is the subject's split from the taxonomy,
so no subject is on two sides. Randomness is seeded per motion file (the seed and the file's
name), so a file's samples do not change when other files are added or left out.
"""

from __future__ import annotations

import csv
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from act_ros.datasets.mocap.camera import CAMERA_FIELDS
from act_ros.datasets.mocap.coco17 import motion_to_coco17
from act_ros.datasets.mocap.motion import Motion, clean_motion
from act_ros.datasets.mocap.noise import NOISE_FILE, NoiseModel
from act_ros.datasets.mocap.stand import standing_motion
from act_ros.datasets.mocap.synthesize import SynthesisSettings, synthesize_view, windows
from act_ros.datasets.mocap.taxonomy import TAXONOMY_FILE, Taxonomy, load_taxonomy
from act_ros.datasets.mocap.variants import apply_variant
from act_ros.datasets.npz import PoseDataset
from act_ros.layouts import COCO17

DEFAULT_MOCAP_DIR = Path("../shared/data/mocap")
STAND_SECONDS = 4.0  # two windows of standing per view at the default stride
STAND_VIEWS = 1  # cameras per standing clip (one per source clip: plenty of clips)
RARE_SEQUENCES = 5  # a class with fewer motion files than this (wave: 2) gets more views
RARE_VIEW_FACTOR = 5


@dataclass(frozen=True)
class MotionItem:
    source: str  # cmu | hdm05
    path: Path
    subject: str  # "cmu:7"
    class_name: str
    key: str  # stable id: "cmu:07_01", "hdm05:HDM_bd_squat1Reps_001_120"
    asf: Path | None = None
    start_s: float = 0.0
    end_s: float = float("inf")
    stand_s: float = 0.0  # > 0: the clip's first pose held this long (``stand.py``)
    variant: str = ""  # a motion variant of the capture (``variants.py``), '' = as captured


def cmu_items(root: Path, taxonomy: Taxonomy) -> tuple[list[MotionItem], list[str]]:
    """Labelled CMU trials (one rig per capture) and a line per trial left out."""
    index = root / "cmu" / "index.csv"
    if not index.is_file():
        raise FileNotFoundError(f"CMU index not found: {index} (expected ../shared/data/mocap)")
    rows = list(csv.DictReader(index.open()))
    pref = {r: i for i, r in enumerate(taxonomy.rig_preference)}
    best: dict[tuple[str, str], dict] = {}
    for row in rows:
        k = (row["subject"], row["trial"])
        if k not in best or pref.get(row["rig"], 99) < pref.get(best[k]["rig"], 99):
            best[k] = row
    items, left_out = [], []
    for row in rows:
        trial = f"{int(row['subject']):02d}_{int(row['trial']):02d}"
        if best[(row["subject"], row["trial"])] is not row:
            left_out.append(
                f"cmu {row['file']}: same capture as {best[(row['subject'], row['trial'])]['file']}"
            )
            continue
        subject = f"cmu:{int(row['subject'])}"
        path = root / "cmu" / row["file"]
        if trial in taxonomy.cmu_segments:
            for i, (a, b, cls) in enumerate(taxonomy.cmu_segments[trial]):
                items.append(MotionItem("cmu", path, subject, cls, f"cmu:{trial}#{i}", None, a, b))
            continue
        cls, why = taxonomy.cmu_class(row["description"])
        if cls is None:
            left_out.append(f"cmu {row['file']} ({row['description']}): {why}")
            continue
        items.append(MotionItem("cmu", path, subject, cls, f"cmu:{trial}"))
    return items, left_out


def hdm05_items(root: Path, taxonomy: Taxonomy) -> tuple[list[MotionItem], list[str]]:
    index = root / "hdm05" / "index.csv"
    if not index.is_file():
        raise FileNotFoundError(f"HDM05 index not found: {index}")
    items, left_out = [], []
    for row in csv.DictReader(index.open()):
        cls = taxonomy.hdm05.get(row["class"])
        if cls is None:
            left_out.append(f"hdm05 {row['file']} ({row['class']}): no project class")
            continue
        path = root / "hdm05" / row["file"]
        subject, asf = f"hdm05:{row['actor']}", root / "hdm05" / row["skeleton"]
        items.append(MotionItem("hdm05", path, subject, cls, f"hdm05:{path.stem}", asf))
        if row["class"] in taxonomy.hdm05_stand_from:
            items.append(
                MotionItem(
                    "hdm05", path, subject, "stand", f"hdm05:{path.stem}#stand", asf, stand_s=STAND_SECONDS
                )
            )
    return items, left_out


def load_item(item: MotionItem) -> Motion:
    if item.source == "hdm05" or item.path.suffix.lower() == ".amc":
        from act_ros.datasets.mocap.asf_amc import read_asf_amc

        motion = read_asf_amc(item.path, item.asf)
    else:
        from act_ros.datasets.mocap.bvh import read_bvh

        motion = read_bvh(item.path)
    motion = clean_motion(motion)
    if item.stand_s > 0:
        return standing_motion(motion, item.stand_s, item_rng(0, item.key))
    if item.start_s > 0 or item.end_s < float("inf"):
        a, b = int(item.start_s * motion.frame_rate), int(item.end_s * motion.frame_rate)
        motion = Motion(
            motion.positions[a:b],
            motion.joint_names,
            motion.frame_rate,
            motion.head_frame[a:b],
            motion.rig,
            motion.source_file,
            motion.meta,
        )
    return motion


def with_variants(items: list[MotionItem], taxonomy: Taxonomy) -> list[MotionItem]:
    """``items`` and, after each capture of a class with variants, one item per variant (same
    subject, so the same split)."""
    out = []
    for item in items:
        out.append(item)
        if not item.stand_s:
            out += [
                replace(item, key=f"{item.key}#{v}", variant=v)
                for v in taxonomy.variants.get(item.class_name, ())
            ]
    return out


def item_rng(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def synthesize_item(
    item: MotionItem, motion: Motion, noise: NoiseModel, settings: SynthesisSettings, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(windows (n, T, 17, 3), cameras (n, 11), speeds (n,)) of ``settings.views`` views."""
    rng = item_rng(seed, item.key)
    points, forward = apply_variant(
        item.variant, motion_to_coco17(motion), motion.head_frame[:, :, 2], motion.frame_rate, rng
    )
    poses, cams, speeds = [], [], []
    for _ in range(settings.views):
        view = synthesize_view(points, forward, motion.frame_rate, noise, settings, rng)
        w = windows(view.poses, settings)
        poses.append(w)
        cams += [view.camera.as_vector()] * len(w)
        speeds += [view.speed] * len(w)
    return (
        np.concatenate(poses),
        np.array(cams, np.float32).reshape(-1, len(CAMERA_FIELDS)),
        np.array(speeds, np.float32),
    )


def _lzq(lzq_dir: Path, taxonomy: Taxonomy, settings: SynthesisSettings) -> dict:
    from act_ros.datasets.lzq import LZQ_FRAME_RATE, build_lzq_dataset

    ds = build_lzq_dataset(
        lzq_dir,
        window_length=settings.window_length,
        stride=settings.stride,
        val_fraction=0.0,
        test_fraction=0.0,
        train_speeds=(LZQ_FRAME_RATE / settings.frame_rate,),
    )
    names = [taxonomy.lzq.get(ds.class_names[i]) for i in ds.labels]
    keep = np.array([n is not None for n in names])
    return {
        "poses": ds.poses[keep],
        "classes": [n for n in names if n is not None],
        "groups": ds.groups[keep],
    }


def build_mix(
    mocap_dir: Path = DEFAULT_MOCAP_DIR,
    lzq_dir: Path | None = None,
    seed: int = 0,
    settings: SynthesisSettings | None = None,
    noise_file: Path = NOISE_FILE,
    taxonomy_file: Path = TAXONOMY_FILE,
    sources: tuple[str, ...] = ("cmu", "hdm05", "lzq"),
    limit: int = 0,
    progress: bool = True,
) -> tuple[PoseDataset, dict]:
    """The whole mix and a report (counts, left-out files, timing)."""
    t0 = time.perf_counter()
    settings = settings or SynthesisSettings()
    taxonomy = load_taxonomy(taxonomy_file)
    noise = NoiseModel.from_file(noise_file)
    items: list[MotionItem] = []
    left_out: list[str] = []
    for source, lister in (("cmu", cmu_items), ("hdm05", hdm05_items)):
        if source in sources:
            got, out = lister(Path(mocap_dir), taxonomy)
            if limit and len(got) > limit:  # evenly over the list: several subjects and classes
                got = [got[int(i)] for i in np.linspace(0, len(got) - 1, limit).round()]
            items += got
            left_out += out
    per_class = Counter(i.class_name for i in items)
    items = with_variants(items, taxonomy)
    poses, labels, subjects, origin, groups, cams, speeds = [], [], [], [], [], [], []
    failed = []
    sequence: dict[str, int] = {}  # a variant is the same sequence as its capture
    for item in tqdm(items, desc="mocap -> 2-D", unit="file", disable=not progress):
        g = sequence.setdefault(item.key.removesuffix(f"#{item.variant}"), len(sequence))
        try:
            motion = load_item(item)
        except (ValueError, FileNotFoundError) as exc:
            failed.append(f"{item.path}: {exc}")
            continue
        views = settings
        if item.stand_s:
            views = replace(settings, views=min(settings.views, STAND_VIEWS))
        elif per_class[item.class_name] < RARE_SEQUENCES:
            views = replace(settings, views=settings.views * RARE_VIEW_FACTOR)
        elif (ways := 1 + len(taxonomy.variants.get(item.class_name, ()))) > 1:
            # The capture and its variants share the class's views: no more windows for it
            # (a rare class, above, keeps all its views each way: it needs the windows).
            views = replace(views, views=max(1, round(views.views / ways)))
        w, c, s = synthesize_item(item, motion, noise, views, seed)
        poses.append(w)
        labels += [item.class_name] * len(w)
        subjects += [item.subject] * len(w)
        origin += [item.source] * len(w)
        groups += [g] * len(w)
        cams.append(c)
        speeds.append(s)
    if "lzq" in sources:
        lzq = _lzq(Path(lzq_dir) if lzq_dir else _bundled_lzq(), taxonomy, settings)
        n = len(lzq["poses"])
        poses.append(lzq["poses"])
        labels += lzq["classes"]
        subjects += ["lzq:person"] * n
        origin += ["lzq"] * n
        groups += list(lzq["groups"] + len(items))
        cams.append(np.full((n, len(CAMERA_FIELDS)), np.nan, np.float32))
        speeds.append(np.full(n, settings.frame_rate / 10.0, np.float32))
    used = [c for c in taxonomy.classes if c in set(labels)]
    split = [taxonomy.split_of(o, s.split(":", 1)[1]) for o, s in zip(origin, subjects)]
    ds = PoseDataset(
        poses=np.concatenate(poses),
        labels=np.array([used.index(c) for c in labels]),
        class_names=tuple(used),
        keypoint_layout=COCO17,
        groups=np.array(groups),
        split=np.array(split),
        frame_rate=settings.frame_rate,
        source=(
            f"act_ros mocap mix: {', '.join(sources)}; seed={seed}, "
            f"T={settings.window_length}, {settings.frame_rate:g} fps, stride="
            f"{settings.stride}, views={settings.views}, speeds={list(settings.speeds)}, "
            f"noise={noise.backend}"
        ),
        subject=np.array(subjects),
        sample_source=np.array(origin),
        camera=np.concatenate(cams),
        camera_fields=CAMERA_FIELDS,
        speed=np.concatenate(speeds),
    )
    report = {
        "seconds": time.perf_counter() - t0,
        "motions": len(items),
        "failed": failed,
        "left_out": left_out,
        "table": class_table(ds),
    }
    return ds, report


def _bundled_lzq() -> Path:
    import act_ros.data

    return Path(act_ros.data.__file__).parent / "lzq_openpose_har"


def class_table(ds: PoseDataset) -> str:
    """Markdown: per class, windows by source, distinct sequences (motion files / LZQ
    segments) and distinct subjects, and the subjects per split."""
    sources = sorted(set(ds.sample_source.tolist())) if ds.sample_source is not None else []
    head = (
        "| class | "
        + " | ".join(f"{s} windows" for s in sources)
        + " | sequences | subjects | subjects train/val/test |"
    )
    lines = [head, "|---|" + "---:|" * (len(sources) + 3)]
    for i, name in enumerate(ds.class_names):
        m = ds.labels == i
        counts = Counter(ds.sample_source[m].tolist())
        subj_split: dict[str, set] = defaultdict(set)
        for s, sp in zip(ds.subject[m], ds.split[m]):
            subj_split[sp].add(s)
        lines.append(
            f"| {name} | "
            + " | ".join(str(counts.get(s, 0)) for s in sources)
            + f" | {len(set(ds.groups[m].tolist()))} | {len(set(ds.subject[m].tolist()))}"
            + f" | {len(subj_split['train'])}/{len(subj_split['val'])}/"
            f"{len(subj_split['test'])} |"
        )
    return "\n".join(lines)
