"""The partitioner the engine predicts classified partitions with equals the Java client's."""

import pytest

from streams.runtime.partitioner import murmur2

# Kafka's own test vectors (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java).
JAVA = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971, b"abc": 479470107}


@pytest.mark.parametrize(("key", "signed"), JAVA.items())
def test_murmur2_is_the_java_clients(key, signed):
    assert murmur2(key) == signed & 0xFFFFFFFF
