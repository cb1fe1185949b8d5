"""Run every benchmark script in benchmarks/ in turn and print their tables (`make bench`).

    .venv/bin/python benchmarks/run_all.py [--quick] [--only bench_pose.py,...] [--json DIR]

A benchmark script is any ``benchmarks/bench_*.py``. Each runs in its own process with the
arguments below (``--quick``: a tiny setting for smoke tests; its numbers mean nothing), its
tables stream to the terminal, and a summary (exit code, seconds) ends the run. Scripts with a
``--json`` option write their results to ``DIR/<script>.json`` when ``--json DIR`` is given.

The module is importable: :func:`find_tables` / :func:`check_table` parse and check the tables a
script prints (the smoke test uses them); numbers are never checked, only that the table is
well-formed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Arguments of the scripts that have no --quick of their own: (full run, quick run).
_POSE_QUICK = ["--frames", "6", "--warmup", "2", "--variants", "lite", "--threads", "1", "--sizes", "640x360"]
_ACT_QUICK = [
    "--sizes",
    "micro",
    "--threads",
    "1",
    "--batches",
    "1",
    "--runs",
    "5",
    "--warmup",
    "1",
    "--peak-size",
    "256",
    "--peak-repeats",
    "3",
]
KNOWN_ARGS: dict[str, tuple[list[str], list[str]]] = {
    "bench_pose.py": ([], _POSE_QUICK),
    "bench_act.py": ([], _ACT_QUICK),
}


def benchmark_scripts(directory: Path = HERE) -> list[Path]:
    """Every benchmark script, in name order."""
    return sorted(p for p in directory.glob("bench_*.py") if p.is_file())


def _help_text(script: Path) -> str:
    out = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120, env=_child_env()
    )
    return out.stdout


def _shipped_models() -> list[str]:
    return sorted(str(p) for p in (ROOT / "act_ros" / "models").glob("act_*.tflite"))


def command(
    script: Path, quick: bool = False, json_dir: Path | None = None, help_text: str | None = None
) -> list[str]:
    """The command that runs ``script`` (full or quick)."""
    full, short = KNOWN_ARGS.get(script.name, (None, None))
    help_text = help_text if help_text is not None else _help_text(script)
    if full is None:  # a script this file does not know: its own --quick if it has one
        full, short = [], (["--quick"] if "--quick" in help_text else [])
    args = list(short if quick else full)
    if script.name == "bench_act.py" and importlib.util.find_spec("tensorflow") is None:
        # Its default models are random-weight exports built with TensorFlow (training extra);
        # a robot's venv has the shipped models instead.
        models = _shipped_models()
        if models:
            args += ["--models", *models]
    if json_dir is not None and "--json" in help_text:
        args += ["--json", str(json_dir / f"{script.stem}.json")]
    return [sys.executable, str(script), *args]


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


# --- tables ------------------------------------------------------------------------------------
@dataclass
class Table:
    kind: str  # "markdown" (| a | b |) or "fixed" (header, dashes, rows)
    header: str
    rows: list[str] = field(default_factory=list)
    line: int = 0  # line number of the header in the output

    def cells(self, row: str) -> list[str]:
        if self.kind == "markdown":
            return [c.strip() for c in row.strip().strip("|").split("|")]
        return row.split()


_SEPARATOR = re.compile(r"^\|(\s*:?-{3,}:?\s*\|)+\s*$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")


def find_tables(text: str) -> list[Table]:
    """Markdown tables (header, |---| separator, rows) and fixed-width tables (a header line,
    a line of dashes as long as it, rows until a blank line) in a script's output."""
    lines = text.splitlines()
    tables: list[Table] = []
    i = 0
    while i < len(lines) - 1:
        head, sep = lines[i], lines[i + 1]
        if head.lstrip().startswith("|") and _SEPARATOR.match(sep.strip()):
            table = Table("markdown", head, line=i + 1)
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                table.rows.append(lines[i])
                i += 1
            tables.append(table)
            continue
        if (
            head.strip()
            and set(sep.strip()) == {"-"}
            and len(sep.strip()) >= 10
            and len(sep.rstrip()) == len(head.rstrip())
        ):
            table = Table("fixed", head, line=i + 1)
            i += 2
            while i < len(lines) and lines[i].strip():
                table.rows.append(lines[i])
                i += 1
            tables.append(table)
            continue
        i += 1
    return tables


def _is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.replace(",", "")))


def check_table(table: Table) -> None:
    """Raise ValueError saying what is wrong unless ``table`` is well-formed: at least one row,
    every row with the header's columns, no empty cell, no NaN/inf, and at least one number in
    every row (values are not judged)."""
    where = f"table at output line {table.line} ({table.header.strip()[:60]!r})"
    if not table.rows:
        raise ValueError(f"{where}: no rows")
    header_cells = table.cells(table.header)
    for row in table.rows:
        cells = table.cells(row)
        if table.kind == "markdown":
            if len(cells) != len(header_cells):
                raise ValueError(f"{where}: row has {len(cells)} cells, header {len(header_cells)}: {row!r}")
            if any(c == "" for c in cells):
                raise ValueError(f"{where}: empty cell in {row!r}")
        elif len(row.rstrip()) > len(table.header.rstrip()):
            raise ValueError(f"{where}: row wider than its header (a value overflowed its column): {row!r}")
        bad = [c for c in cells if c.lower().strip("+-") in ("nan", "inf", "infinity")]
        if bad:
            raise ValueError(f"{where}: {bad} in {row!r}")
        if not any(_is_number(c) for c in cells):
            raise ValueError(f"{where}: no number in row {row!r}")


# --- running -----------------------------------------------------------------------------------
def run_script(cmd: list[str], echo: bool = True) -> tuple[int, str, float]:
    """Run one benchmark; stream its stdout (the tables) while keeping a copy."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=_child_env(), cwd=str(ROOT))
    captured = []
    assert proc.stdout is not None
    for line in proc.stdout:
        captured.append(line)
        if echo:
            sys.stdout.write(line)
            sys.stdout.flush()
    code = proc.wait()
    return code, "".join(captured), time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny settings (smoke test)")
    ap.add_argument("--only", default="", help="comma-separated script names (default: all)")
    ap.add_argument(
        "--json", type=Path, metavar="DIR", help="folder for each script's JSON results and run_all.json"
    )
    args = ap.parse_args(argv)

    scripts = benchmark_scripts()
    if args.only:
        wanted = {n if n.endswith(".py") else f"{n}.py" for n in args.only.split(",") if n}
        unknown = wanted - {s.name for s in scripts}
        if unknown:
            raise SystemExit(
                f"no benchmark script {sorted(unknown)} in {HERE} "
                f"(have: {', '.join(s.name for s in scripts)})"
            )
        scripts = [s for s in scripts if s.name in wanted]
    if args.json:
        args.json.mkdir(parents=True, exist_ok=True)
    summary = []
    for script in scripts:
        cmd = command(script, args.quick, args.json)
        shown = " ".join([Path(cmd[0]).name, *cmd[1:]])
        print(f"\n## {script.name}\n$ {shown}\n", flush=True)
        code, out, seconds = run_script(cmd)
        problems = []
        tables = find_tables(out)
        for table in tables:
            try:
                check_table(table)
            except ValueError as exc:
                problems.append(str(exc))
        if not tables:
            problems.append("printed no table")
        summary.append(
            {
                "script": script.name,
                "command": cmd,
                "exit_code": code,
                "seconds": seconds,
                "tables": len(tables),
                "problems": problems,
                "stdout": out,
            }
        )
    print("\n## Summary")
    print("| script | exit code | seconds | tables | problems |")
    print("|---|---|---|---|---|")
    for s in summary:
        print(
            f"| {s['script']} | {s['exit_code']} | {s['seconds']:.0f} | {s['tables']} | "
            f"{'; '.join(s['problems']) or 'none'} |"
        )
    if args.json:
        (args.json / "run_all.json").write_text(json.dumps(summary, indent=2) + "\n")
    failed = [s for s in summary if s["exit_code"] != 0 or s["problems"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
