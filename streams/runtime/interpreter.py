"""How a process that runs the engine tunes the interpreter (docs/performance-history.md)."""

from __future__ import annotations

import gc
import sys

# The loop allocates and frees a few containers per reply and holds a large, long-lived state:
# at Python's default thresholds (700, 10, 10) the collector ran about 3,500 times per 200k
# replies and its passes over the state took 15-20% of the worker's time. Nothing on the hot
# path makes reference cycles (garbage is freed by reference counts), so collecting rarely
# keeps no more memory.
GC_THRESHOLDS = (50_000, 20, 20)
# The ClickHouse writer thread needs the GIL between its C calls (clickhouse-connect's Python
# around each insert), and a thread waiting for it gets it only when the loop's thread is made
# to let go: every 5 ms by default. Each write waited for that dozens of times: 0.5-0.6 s for a
# checkpoint's ~22k rows, the next checkpoint then waited for the write. At 0.2 ms a write takes
# 0.15 s. The loop's thread pays for a switch only while another thread is waiting.
SWITCH_INTERVAL_S = 0.0002


def tune() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def compiled_modules() -> list[str]:
    """bounceflow's imported modules that run a compiled build (setup.py: the C codec, and the
    per-reply modules mypyc compiled), for the worker's log: without a compiler they run as
    Python, correct and slower."""
    return sorted(name for name, module in list(sys.modules.items())
                  if name.split(".")[0] in ("streams", "sinks")
                  and (getattr(module, "__file__", None) or "").endswith(".so"))
