"""`act-ros bench` prints its table (speed itself is never asserted)."""

from __future__ import annotations

import re

from act_ros.bench import main
from act_ros.model_sizes import macs_per_window
from act_ros.runtime import shipped_model_path


def test_bench_prints_the_table_for_shipped_models(capsys):
    assert (
        main(
            [
                "--models",
                str(shipped_model_path("micro")),
                "--threads",
                "1",
                "2",
                "--batches",
                "1",
                "3",
                "--runs",
                "5",
                "--warmup",
                "1",
                # a small peak matmul: this test also runs emulated (tools/arm64_check.sh)
                "--peak-size",
                "256",
                "--peak-repeats",
                "3",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert re.search(r"matmul peak, 1 thread\(s\): [\d.]+ GFLOP/s", out)
    assert "x floor" in out and "pose_features" in out
    rows = [ln for ln in out.splitlines() if ln.startswith("act_micro.tflite")]
    assert len(rows) == 4  # 2 thread counts x 2 batch sizes
    for row in rows:
        ratio = float(row.split()[-1])
        assert ratio > 0


def test_macs_match_the_paper():
    assert macs_per_window("micro", 30, num_classes=20) == 6_708_224  # 6.7 M MACs (paper)
    assert abs(macs_per_window("large", 30, num_classes=20) - 150e6) / 150e6 < 0.01
