"""One named logger per subsystem, so operators can tune each one separately."""

import logging

engine = logging.getLogger("supportbot.engine")
dialogue = logging.getLogger("supportbot.dialogue")
storage = logging.getLogger("supportbot.storage")
delivery = logging.getLogger("supportbot.delivery")
handoff = logging.getLogger("supportbot.handoff")
channels = logging.getLogger("supportbot.channels")
cli = logging.getLogger("supportbot.cli")
privacy = logging.getLogger("supportbot.privacy")
