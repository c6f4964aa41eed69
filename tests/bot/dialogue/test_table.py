"""The transition table is a graph; check it like python-statemachine checks its classes."""

from __future__ import annotations

import ast
import inspect

from bot.dialogue import TABLE, State, Trigger, answering, escalation, privacy
from bot.dialogue.states import BOT_STATES, HANDOFF_STATES


def _handler_results() -> dict[str, set[State]]:
    """For each handler, the states it can return: the ``State.X`` it names, plus those
    of the helpers it calls (``escalate``, ``closure``, ``answer`` ...), transitively."""
    named: dict[str, set[State]] = {}
    calls: dict[str, set[str]] = {}
    for module in (answering, escalation, privacy):
        for fn in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(fn, ast.AsyncFunctionDef | ast.FunctionDef):
                named[fn.name] = {
                    State[n.attr] for n in ast.walk(fn)
                    if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                    and n.value.id == "State" and n.attr in State.__members__
                }  # fmt: skip
                calls[fn.name] = {
                    n.func.id for n in ast.walk(fn)
                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                }  # fmt: skip
    changed = True
    while changed:
        changed = False
        for name, callees in calls.items():
            for callee in callees & named.keys():
                if not named[callee] <= named[name]:
                    named[name] |= named[callee]
                    changed = True
    return named


def successors() -> dict[State, set[State]]:
    results = _handler_results()
    graph: dict[State, set[State]] = {s: set() for s in State}
    for (state, _), handler in TABLE.items():
        # a handler that names no state returns the one it was in (t.state)
        graph[state] |= results[handler.__name__] or {state}
    return graph


def test_every_state_is_reachable_from_start() -> None:
    graph = successors()
    seen, todo = {State.START}, [State.START]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert seen == set(State)


def test_every_state_has_a_way_out() -> None:
    graph = successors()
    for state in State:
        assert graph[state] - {state}, f"{state} is a trap"


def test_a_human_can_be_reached_from_every_state_the_bot_owns() -> None:
    for state in BOT_STATES:
        assert (state, Trigger.HUMAN) in TABLE
        assert (state, Trigger.LEGAL) in TABLE
    for state in HANDOFF_STATES:  # already with a human: words are relayed instead
        assert (state, Trigger.HUMAN) not in TABLE
        assert (state, Trigger.TEXT) in TABLE


def test_plain_text_is_understood_in_every_state() -> None:
    for state in State:
        if state is not State.CSAT_COMMENT:
            assert (state, Trigger.TEXT) in TABLE, state
