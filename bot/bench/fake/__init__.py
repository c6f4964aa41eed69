"""The fake messaging platform of ``supportbot bench``, run in a process of its own.

It plays the platform's part for the real bot in the bench process: it serves the Web
API the bot's adapter calls (aiogram's Bot API calls, slack_sdk's Web API calls), records
every reply the bot gets accepted, and delivers customers' and the agent's messages to
the bot's webhook the way the platform does (Telegram's secret header, Slack's signed
requests, retried on a failure). It is a separate process so that the bot's CPU and
memory are measured alone, and it imports neither the engine nor aiogram nor slack-bolt.

- ``base``      what both fakes share: customers, the agent, webhook delivery, the report
- ``telegram``  the Telegram Bot API and its updates (forum topics for the desk)
- ``slack``     the Slack Web API and its events (a thread per case for the desk)
- ``process``   the process: ``python -m bot.bench.fake telegram|slack``, JSON lines on
                standard input and output to talk to the bench process
"""
