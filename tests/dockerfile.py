"""The Dockerfile read as data (no Docker engine here): its stages and their instructions, what
its builder stage copies, and that copy made in a directory, .dockerignore applied. Used by
tests/unit/test_dockerfile.py (the recipe) and tests/integration/test_wheel.py (the wheel built
from what the image's builder would have)."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, args)

    def args(self, instruction: str) -> list[str]:
        return [args for name, args in self.instructions if name == instruction]

    def copied(self) -> list[str]:
        """The sources of its COPY instructions from the build context."""
        return [source for args in self.args("COPY") if not args.startswith("--from")
                for source in args.split()[:-1]]


def stages(text: str | None = None) -> list[Stage]:
    text = (ROOT / "Dockerfile").read_text() if text is None else text
    out: list[Stage] = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        if instruction.upper() == "FROM":
            words = args.split()
            out.append(Stage(words[0], words[2] if len(words) == 3 else None))
        else:
            out[-1].instructions.append((instruction.upper(), args.strip()))
    return out


def ignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str) -> bool:
    """Whether Docker leaves ``path`` (relative to the context) out, for the pattern forms
    .dockerignore uses: ``name`` (from the root, with all below it) and ``**/pattern`` (at any
    depth)."""
    parts = Path(path).parts
    for pattern in ignore_patterns():
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch("/".join(parts[i:j]), pattern[3:])
                   for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)):
                return True
        elif any(fnmatch.fnmatch("/".join(parts[:n]), pattern) for n in range(1, len(parts) + 1)):
            return True
    return False


def copy_build_context(dest: Path) -> None:
    """What the builder stage's COPY instructions put in its work directory (symlinks kept as
    symlinks, as COPY keeps them)."""
    for source in stages()[0].copied():
        for path in _walk(ROOT / source):
            relative = path.relative_to(ROOT)
            if ignored(str(relative)):
                continue
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink():
                os.symlink(os.readlink(path), target)
            else:
                shutil.copy2(path, target)


def _walk(path: Path) -> list[Path]:
    if path.is_symlink() or path.is_file():
        return [path]
    out = []
    for directory, dirs, files in os.walk(path):
        out += [Path(directory) / name for name in files]
        out += [Path(directory) / name for name in dirs if (Path(directory) / name).is_symlink()]
    return out
