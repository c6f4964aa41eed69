"""What an HTTP call to a platform's API left open, for both adapters (aiohttp clients).

After a timeout, or the connection closing under a request that had gone out (or under
half an answer), the platform may well have carried the call out: a message may have
been shown. Such a send is ``bot.delivery.DeliveryUncertain``, tried once more at most;
any other failure (the connection refused, say) happened before the request left.
"""

from __future__ import annotations

from aiohttp import ClientPayloadError, ServerDisconnectedError

UNANSWERED = (TimeoutError, ServerDisconnectedError, ClientPayloadError)
