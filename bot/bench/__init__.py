"""``supportbot bench``: drive simulated customers and an agent through the real stack and
measure how fast it goes, how long customers wait, how much memory it takes, and whether
every reply arrived exactly once and in order.

Layout (one concern per module; nothing here is imported by the bot itself):

- ``cli``       the command line (registered by ``bot.cli``)
- ``run``       one run: options, settings, database, progress bar, the channel's driver
- ``options``   what a run is asked to do; its settings and scratch database
- ``scripts``   the customers' conversations, from the knowledge base's own questions
- ``actors``    customers and the agent, and each customer's chat log (latency)
- ``local``     the local channel, in-process
- ``remote``    platform channels: the fake platform's process and the bot stack here
- ``telegram``, ``slack``   the real webhook stacks the bench starts
- ``fake``      the fake platforms (a separate process; no engine, no platform library)
- ``check``     lost, duplicated, out-of-order: the outbox against what arrived
- ``results``, ``usage``   the result, its table and JSON; memory and CPU of a process
"""
