"""The project's TOML data files (the classifier's rules, providers, the MTA adapters' fields,
auto-reply patterns, a user's rules or senders file): read with their ``schema`` line checked, every
error a RulesError that names the file. Imported by pure packages of every stage, so it imports
nothing of theirs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from streams.exceptions import RulesError


def load_toml(path: Path, schema: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RulesError(f"{path}: no such rules file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from None
    if data.get("schema") != schema:
        raise RulesError(f"{path}: expected schema = {schema!r}, found {data.get('schema')!r}")
    return data
