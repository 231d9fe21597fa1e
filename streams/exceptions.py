"""bounceflow's exception root. User-facing messages say what to do, not only what failed."""


class BounceflowError(Exception):
    """Root of every error bounceflow raises on purpose."""


class ConfigError(BounceflowError):
    """A setting is missing or has a value bounceflow cannot use."""


class RulesError(BounceflowError):
    """A rules file does not follow the rules schema; the message names the file and rule."""


class BrokerError(BounceflowError):
    """The local broker could not be started or reached."""


class SinkError(BounceflowError):
    """ClickHouse refused or failed a write; the batch is retried, never dropped."""
