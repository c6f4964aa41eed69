"""The cyclic garbage collector, set for a process that answers messages for hours.

Python's collector walks every tracked object in the oldest generation on each full
collection. A running bot holds a few hundred thousand long-lived objects that never
become garbage (the platform libraries' models, SQLAlchemy's mappers and compiled
statements, the knowledge base), so each full collection took 100-160 ms of CPU in the
bench, with the event loop stopped for all of it (a customer's reply waits behind it),
and collections of all generations took about 9% of the process's CPU at full load.

Once the bot has started, :func:`settle` collects once and moves what survived into the
permanent generation, which the collector no longer walks (``gc.freeze``), and raises
the threshold of the youngest generation so that short bursts of request objects are
mostly freed by reference counting before a collection looks at them. Garbage made later
is collected as before; only objects alive at start-up are exempt, and those live as
long as the process anyway (a knowledge base replaced by an edit is freed by reference
counting; a reference cycle among frozen objects would stay, which costs memory, never
correctness).
"""

from __future__ import annotations

import gc

#: Allocations (net of frees) of tracked objects between young collections; CPython's
#: default is 700. The older generations keep their defaults.
YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Call once start-up is done (everything loaded), before the first message."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
