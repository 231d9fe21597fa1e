"""The adapters are pure: importing them loads no settings and no I/O module (the ingest side
turns settings and files into their Options: streams/ingest/adapter_options.py)."""

from __future__ import annotations

import subprocess
import sys


def test_the_adapters_load_no_settings():
    code = ("import sys; import streams.adapters.common, streams.adapters.kumomta, "
            "streams.adapters.postfix, streams.adapters.powermta, streams.adapters.exim; "
            "print(sorted(m for m in sys.modules if m in ('streams.settings', "
            "'confluent_kafka', 'streams.kafka_config')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"
