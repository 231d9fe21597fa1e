"""bounceflow: classify SMTP replies from Kafka, keep per-recipient state, emit action hooks
and exact ClickHouse reports."""

__version__ = "0.1.0"
