"""The exception tree of the support bot.

Every error the product raises on purpose derives from ``SupportBotError`` so that
one boundary (the CLI, a channel adapter) can turn it into a clear message for a
person and a log line, and let anything else surface as a real bug::

    SupportBotError
    ├── ConfigError                 a setting is missing or invalid (start-up stops)
    ├── StorageError                the database cannot do what was asked
    │   └── DatabaseUnavailable     missing directory, locked file, server down
    ├── KnowledgeBaseError          the article folder cannot be used at all
    ├── HandoffError                an agent action that cannot be carried out
    │   ├── CaseNotFound
    │   ├── CaseAlreadyClaimed      another agent won the claim
    │   ├── NotCaseOwner            the case belongs to another agent
    │   └── CaseNotOpen             the case is already resolved or closed
    └── ChannelError                a channel could not deliver a message
        ├── RetryLater              (bot.delivery) the channel asks us to wait first
        └── DeliveryUncertain       (bot.delivery) sent, but no answer: tried once more at most
"""

from __future__ import annotations


class SupportBotError(Exception):
    """Base class: an expected failure with a message fit to show a person."""


class ConfigError(SupportBotError):
    """A setting is invalid; the message names the key and the problem."""


class StorageError(SupportBotError):
    """The repository could not complete an operation."""


class DatabaseUnavailable(StorageError):
    """The database cannot be opened or is locked for longer than the busy timeout."""


class KnowledgeBaseError(SupportBotError):
    """The knowledge-base folder is missing or holds no usable article."""


class HandoffError(SupportBotError):
    """An agent action was refused."""


class CaseNotFound(HandoffError):
    def __init__(self, number: int) -> None:
        super().__init__(f"There is no case #{number}.")
        self.number = number


class CaseAlreadyClaimed(HandoffError):
    def __init__(self, number: int, owner: str) -> None:
        super().__init__(f"Case #{number} is already claimed by {owner}.")
        self.number = number
        self.owner = owner


class NotCaseOwner(HandoffError):
    def __init__(self, number: int, owner: str) -> None:
        super().__init__(f"Case #{number} is claimed by {owner}; only they can do that.")
        self.number = number
        self.owner = owner


class CaseNotOpen(HandoffError):
    def __init__(self, number: int, status: str) -> None:
        super().__init__(f"Case #{number} is {status}; it cannot be changed any more.")
        self.number = number
        self.status = status


class ChannelError(SupportBotError):
    """A message could not be delivered on its channel (it stays in the outbox)."""
