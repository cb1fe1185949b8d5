"""The label taxonomy (``taxonomy.yaml`` next to this file): source labels -> project classes,
and the subject-disjoint splits. Loading checks that every class named is declared and that no
subject sits in two splits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from act_ros.datasets.mocap.variants import VARIANTS, variant_steps

TAXONOMY_FILE = Path(__file__).with_name("taxonomy.yaml")
SOURCES = ("cmu", "hdm05", "lzq")


@dataclass(frozen=True)
class Taxonomy:
    classes: tuple[str, ...]
    cmu_descriptions: dict[str, str | None]
    cmu_excluded_prefixes: tuple[str, ...]
    cmu_segments: dict[str, list[tuple[float, float, str]]]
    rig_preference: tuple[str, ...]
    hdm05: dict[str, str | None]
    hdm05_stand_from: tuple[str, ...]  # HDM05 classes whose clips start standing (stand.py)
    lzq: dict[str, str | None]
    splits: dict[str, dict[str, str]]  # source -> subject -> split
    model_classes: tuple[str, ...] = ()  # what the shipped models learn
    unknown_tune: tuple[str, ...] = ()  # never trained: choose the reject rule
    unknown_test: tuple[str, ...] = ()  # never trained: measure it
    variants: dict[str, tuple[str, ...]] = field(default_factory=dict)  # class -> motion variants

    def cmu_class(self, description: str) -> tuple[str | None, str]:
        """(class or None, why) for a CMU description."""
        d = description.strip().lower()
        if d in self.cmu_descriptions:
            c = self.cmu_descriptions[d]
            return c, "mapped" if c else "left out (mixed or no project class)"
        if d.startswith(self.cmu_excluded_prefixes):
            return None, "left out (dance / dribbling: no project class)"
        return None, "left out (description not in the taxonomy)"

    def split_of(self, source: str, subject: str) -> str:
        try:
            return self.splits[source][str(subject)]
        except KeyError:
            raise KeyError(
                f"subject {subject!r} of {source} has no split in the taxonomy "
                f"(add it under splits: {source}:)"
            ) from None


def load_taxonomy(path: str | Path = TAXONOMY_FILE) -> Taxonomy:
    path = Path(path)
    data = yaml.safe_load(path.read_text())
    classes = tuple(data["classes"])
    cmu = data["cmu"]
    hdm05 = {k: v for k, v in data["hdm05"].items() if k != "stand_from"}
    named = (
        list(cmu["descriptions"].values())
        + list(hdm05.values())
        + list(data["lzq"].values())
        + [s[2] for segs in (cmu.get("segments") or {}).values() for s in segs]
    )
    unknown_actions = data.get("unknown_actions") or {}
    named += list(data.get("model_classes") or []) + [c for v in unknown_actions.values() for c in v]
    unknown = sorted({c for c in named if c is not None and c not in classes})
    if unknown:
        raise ValueError(f"{path}: classes {unknown} are not declared in classes:")
    variants = {str(c): tuple(v) for c, v in (data.get("variants") or {}).items()}
    _check_variants(path, variants, classes)
    splits: dict[str, dict[str, str]] = {}
    for source, parts in data["splits"].items():
        splits[source] = {}
        for split, subjects in parts.items():
            for s in subjects:
                if str(s) in splits[source]:
                    raise ValueError(f"{path}: {source} subject {s} is in two splits")
                splits[source][str(s)] = split
    return Taxonomy(
        classes=classes,
        cmu_descriptions={str(k).lower(): v for k, v in cmu["descriptions"].items()},
        cmu_excluded_prefixes=tuple(cmu.get("excluded_prefixes", ())),
        cmu_segments={
            str(k): [(float(a), float(b), str(c)) for a, b, c in v]
            for k, v in (cmu.get("segments") or {}).items()
        },
        rig_preference=tuple(cmu.get("rig_preference", ())),
        hdm05=hdm05,
        hdm05_stand_from=tuple(data["hdm05"].get("stand_from") or ()),
        lzq=dict(data["lzq"]),
        splits=splits,
        model_classes=tuple(data.get("model_classes") or ()),
        unknown_tune=tuple((data.get("unknown_actions") or {}).get("tune") or ()),
        unknown_test=tuple((data.get("unknown_actions") or {}).get("test") or ()),
        variants=variants,
    )


def _check_variants(path: Path, variants: dict[str, tuple[str, ...]], classes: tuple[str, ...]) -> None:
    for cls, names in variants.items():
        if cls not in classes:
            raise ValueError(f"{path}: variants: class {cls!r} is not declared in classes:")
        bad = [n for n in names if not variant_steps(n) or set(variant_steps(n)) - set(VARIANTS)]
        if bad:
            raise ValueError(f"{path}: variants of {cls}: unknown {bad}; known: {sorted(VARIANTS)}")
