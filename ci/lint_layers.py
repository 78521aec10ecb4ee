#!/usr/bin/env python3
"""The mock's layering rule: a file in mock_server/src/<layer>/ includes project headers only of
the layers its folder's README.md names on its "May include:" line, spelled "layer/file.h".

Usage: ci/lint_layers.py [SRC_DIR]   (default: mock_server/src). Prints each finding as
FILE:LINE: message and exits 1 when there is one."""

from __future__ import annotations

import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
MAY_INCLUDE = re.compile(r"^May include:\s*(.+)$", re.MULTILINE)


def allowed_layers(layer_dir: pathlib.Path) -> set[str] | None:
    readme = layer_dir / "README.md"
    if not readme.is_file():
        return None
    match = MAY_INCLUDE.search(readme.read_text(encoding="utf-8"))
    if not match:
        return None
    return {name.strip() for name in match.group(1).split(",") if name.strip()}


def findings(src: pathlib.Path) -> list[str]:
    out: list[str] = []
    layers = sorted(p for p in src.iterdir() if p.is_dir())
    names = {p.name for p in layers}
    for stray in sorted(src.glob("*.[ch]*")):
        out.append(f"{stray}: belongs in a layer folder ({', '.join(sorted(names))})")
    for layer in layers:
        allowed = allowed_layers(layer)
        if allowed is None:
            out.append(f"{layer}/README.md: missing, or without a 'May include: a, b' line")
            continue
        for source in sorted(layer.rglob("*")):
            if source.suffix not in (".h", ".cpp"):
                continue
            for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
                match = INCLUDE.match(line)
                if not match:
                    continue
                target = match.group(1)
                head = target.split("/", 1)[0]
                if "/" not in target or head not in names:
                    out.append(f'{source}:{number}: include "{target}" as "layer/file.h"')
                elif head not in allowed:
                    out.append(
                        f'{source}:{number}: {layer.name}/ may not include "{target}" '
                        f"(it may include: {', '.join(sorted(allowed))})"
                    )
    return out


def main(argv: list[str]) -> int:
    src = pathlib.Path(argv[1] if len(argv) > 1 else "mock_server/src")
    found = findings(src)
    for finding in found:
        print(finding)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
