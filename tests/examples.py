"""How many examples a property-based test tries. CI (CI=true) and BOUNCEFLOW_TEST_THOROUGH=1 try
the count each test states; a developer's quick run (`pytest -m "not integration"`) tries a fifth,
so that it stays under a minute while CI keeps the whole search."""

from __future__ import annotations

import os

THOROUGH = os.environ.get("CI") == "true" or os.environ.get("BOUNCEFLOW_TEST_THOROUGH") == "1"


def examples(count: int) -> int:
    return count if THOROUGH else max(20, count // 5)
