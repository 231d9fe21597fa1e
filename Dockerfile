FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY streams streams
COPY sinks sinks
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT ["bounceflow"]
CMD ["worker"]
