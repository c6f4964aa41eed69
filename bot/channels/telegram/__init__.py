"""The Telegram channel: customers in private chats, agents in a forum supergroup.

Layout (one concern per module, all wired in ``runtime``):

- ``settings``   TELEGRAM_* environment settings (no aiogram import)
- ``callbacks``  signed inline-button data (no aiogram import)
- ``limits``     outbound pacing (per chat, per group, overall), 429s, text splitting
- ``translate``  Telegram message -> the engine's ``Message``
- ``customers``  Router for private chats + the customers' outbox sender
- ``agents``     who counts as an agent (membership of the agents' group, cached)
- ``desk``       Router for the agents' forum group (topic posts, commands, card buttons)
- ``topics``     the desk's outbox sender: one forum topic per case, its card, relays
- ``fallback``   Router for everything else (logged and ignored)
- ``incoming``   processing updates and long polling (each once, in order per chat)
- ``outgoing``   the delivery loop (sends never hold up receiving)
- ``runtime``    Bot, Dispatcher, routers and senders, wired in one place
- ``webhook``    the webhook endpoint (secret checked)
- ``serve``      the process: log redaction, signals, polling or webhook
- ``command``    ``supportbot run telegram``

Importing this package must stay cheap: aiogram is imported only by the modules that
need it, and ``command`` imports those inside the command function.
"""
