"""Slack: customers write to the app in direct messages; agents work each case in a
thread of the agents' channel.

This package must stay importable without slack-bolt being imported (``supportbot``
registers ``run slack`` at start-up); modules that need bolt import it themselves, and
``command.py`` imports them only when the command runs.
"""
