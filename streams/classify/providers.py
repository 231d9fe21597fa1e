"""Recipient domain -> mailbox provider, from ``rules/providers.toml`` (data, with a schema)."""

from __future__ import annotations

import fnmatch
from functools import lru_cache
from pathlib import Path

from streams.classify.rules_loader import RULES_DIR
from streams.datafiles import load_toml
from streams.exceptions import RulesError

OTHER = "other"


class Providers:
    def __init__(self, path: Path = RULES_DIR / "providers.toml") -> None:
        data = load_toml(path, "bounceflow.providers/1")
        self.exact: dict[str, str] = {}
        self.patterns: list[tuple[str, str]] = []
        for name, entry in data.get("providers", {}).items():
            unknown = set(entry) - {"domains", "patterns"}
            if unknown:
                raise RulesError(f"{path}: provider {name}: unknown keys {sorted(unknown)}")
            for domain in entry.get("domains", []):
                if domain in self.exact:
                    raise RulesError(f"{path}: {domain} is in {self.exact[domain]} and {name}")
                self.exact[domain] = name
            self.patterns += [(pattern, name) for pattern in entry.get("patterns", [])]
        self.of = lru_cache(maxsize=65536)(self._of)

    def _of(self, domain: str) -> str:
        domain = domain.lower()
        if domain in self.exact:
            return self.exact[domain]
        return next((name for pattern, name in self.patterns
                     if fnmatch.fnmatchcase(domain, pattern)), OTHER)


PROVIDERS = Providers()
