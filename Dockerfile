# The production image (docker-compose.yml's workers), in two stages. The builder compiles what
# setup.py builds (the C Avro codec, the per-reply modules through mypyc) into a wheel; without a
# compiler they would run as Python, correct and several times slower. The runtime stage installs
# that wheel alone: no compiler, no sources. tests/unit/test_dockerfile.py reads this recipe and
# tests/integration/test_wheel.py builds the wheel from what the builder copies.
FROM python:3.11-slim AS builder
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY schemas schemas
COPY streams streams
COPY sinks sinks
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# The same Python as the builder's: the compiled modules are built for it.
FROM python:3.11-slim
# EXTRAS="[embedded]" adds the local broker and chDB, for `bounceflow demo` in the image.
ARG EXTRAS=""
COPY --from=builder /wheels /wheels
# A user with a home: the embedded broker's binary is unpacked under ~/.calfkit.
RUN pip install --no-cache-dir "$(ls /wheels/bounceflow-*.whl)${EXTRAS}" && rm -rf /wheels \
    && useradd --create-home bounceflow
USER bounceflow
WORKDIR /home/bounceflow
# The built-in rules' compiled prefilter, kept in ~/.cache/bounceflow: a container's first start
# loads it instead of compiling for seconds (compiled again if this CPU cannot run it).
RUN python -c "from streams.classify.classifier import Classifier; Classifier()"
ENTRYPOINT ["bounceflow"]
CMD ["worker"]
