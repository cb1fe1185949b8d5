#!/usr/bin/env python3
"""Writes the README's parameter, launch-argument and exit-code tables from the code's own tables
(`act_ros.parameters`, `act_ros.launch_args`, `act_ros.exit_codes`), between
`<!-- generated:NAME -->` markers.

    tools/readme_tables.py          # rewrite README.md
    tools/readme_tables.py --check  # exit 1 when README.md is out of date (a test runs this)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from act_ros import exit_codes  # noqa: E402
from act_ros.launch_args import GRAPH_ARGUMENTS, NODE_ARGUMENTS  # noqa: E402
from act_ros.parameters import ACT_NODE_PARAMETERS, POSE_NODE_PARAMETERS, markdown_table  # noqa: E402


def launch_table() -> str:
    rows = ["| argument | default | sets | description |", "|---|---|---|---|"]
    for a in GRAPH_ARGUMENTS + NODE_ARGUMENTS:
        sets = f"`{a.node}.{a.parameter}`" if a.node else ""
        choices = f" ({', '.join(c for c in a.choices if c)})" if a.choices else ""
        rows.append(f"| `{a.name}` | `{a.default!r}` | {sets} | {a.description}{choices} |")
    return "\n".join(rows)


def exit_code_table() -> str:
    rows = ["| exit code | meaning |", "|---|---|"]
    rows += [f"| {code} | {text} |" for code, text in exit_codes.TABLE]
    return "\n".join(rows)


TABLES = {
    "exit-codes": exit_code_table,
    "launch-arguments": launch_table,
    "pose-node-parameters": lambda: markdown_table(POSE_NODE_PARAMETERS),
    "act-node-parameters": lambda: markdown_table(ACT_NODE_PARAMETERS),
}


def render(text: str) -> str:
    for name, make in TABLES.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no <!-- generated:{name} --> block")
        table = make()
        text = pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text)  # noqa: B023
    return text


def main() -> int:
    path = ROOT / "README.md"
    text = path.read_text()
    new = render(text)
    if "--check" in sys.argv:
        if new != text:
            print("README.md tables are out of date: run tools/readme_tables.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
