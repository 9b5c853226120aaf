"""Input.parse binds a class's fields once per thread and reuses that instance: what one
body left behind must never reach the next body, another thread, or memory."""

from __future__ import annotations

import gc
import threading
from collections.abc import Mapping
from typing import Any

import pytest
from rest_framework import serializers

from connectors.inputs import AuthSchemeConfig
from core.errors import PatchbayError
from core.wire import Input, ListOf, Nested, Text
from core.wire.bodies import _PARSERS


class Leaf(Input):
    key = Text(max_length=8, required=True)


class Tree(Input):
    name = Text(required=True)
    leaf = Nested(Leaf, required=False)
    leaves = ListOf(Leaf(), max_items=3, required=False)


class Recursive(Input):
    """A check that parses its own class again (the instance in use is not reused)."""

    name = Text(required=True)

    def check(self, data: Mapping[str, Any], values: dict[str, Any]) -> Mapping[str, Any]:
        if values.get("name") == "outer":
            assert Recursive.parse({"name": "inner"}, context={"who": "inner"}) == {"name": "inner"}
            if self.context != {"who": "outer"} or self.initial_data != data:
                return {"name": ["The inner parse took the outer one's instance."]}
        return {}


def fields(body: Any, cls: type[Input] = Tree, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(PatchbayError) as refused:
        cls.parse(body, **kwargs)
    return [(f.field, f.message) for f in refused.value.fields]


def test_a_refused_body_leaves_nothing_for_the_next_one():
    assert fields({"leaf": {"key": "far too long"}, "leaves": [{}]}) == [
        ("name", "This field is required."),
        ("leaf.key", "Must be at most 8 characters."),
        ("leaves[0].key", "This field is required."),
    ]
    assert Tree.parse({"name": "ok", "leaf": {"key": "k"}}) == {"name": "ok", "leaf": {"key": "k"}}
    assert Tree.parse({"name": "again"}) == {"name": "again"}


def test_partial_and_context_belong_to_one_parse():
    assert Tree.parse({"leaf": {"key": "k"}}, partial=True) == {"leaf": {"key": "k"}}
    # Not partial any more: the required name is asked for again.
    assert fields({"leaf": {"key": "k"}}) == [("name", "This field is required.")]
    # A nested object is whole even in a PATCH, as before the parsers were kept.
    assert fields({"leaf": {}}, partial=True) == [("leaf.key", "This field is required.")]


def test_a_parse_inside_a_parse_of_the_same_class_gets_its_own_instance():
    assert Recursive.parse({"name": "outer"}, context={"who": "outer"}) == {"name": "outer"}
    assert Recursive.parse({"name": "plain"}) == {"name": "plain"}


def test_threads_parse_at_once_without_seeing_each_others_bodies():
    results: dict[int, list[Any]] = {}
    start = threading.Barrier(4)

    def work(n: int) -> None:
        start.wait()
        seen = []
        for i in range(200):
            body = {"name": f"t{n}-{i}", "leaves": [{"key": f"{n}.{i % 100}"}]}
            seen.append(Tree.parse(body) == {"name": body["name"], "leaves": body["leaves"]})
        results[n] = seen

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {n: all(seen) for n, seen in results.items()} == {0: True, 1: True, 2: True, 3: True}


def test_the_kept_parsers_hold_no_value_of_the_last_body():
    secret = "sk-" + "a1b2c3d4" * 4
    config = {
        "id": "key",
        "type": "api-key",
        "apiKey": {"name": "X-Api-Key", "in": "header", "description": secret},
    }
    AuthSchemeConfig.parse(config)
    Tree.parse({"name": secret})
    with pytest.raises(PatchbayError):
        Tree.parse({"name": secret, "unknown": secret})
    gc.collect()
    pool = _PARSERS.__dict__["idle"]
    assert not pool[Tree]._parsing
    assert not pool[AuthSchemeConfig]._parsing
    held = [
        obj
        for parser in pool.values()
        for obj in _reachable(parser)
        if type(obj) is str and secret in obj
    ]
    assert held == []


def _reachable(root: Any, limit: int = 20000) -> list[Any]:
    """What ``root`` holds (bounded): fields, serializers and the containers between them,
    never a function's globals (which reach all of the process) nor a lazy object (asking
    ``isinstance`` of one would evaluate it: ``type()`` does not)."""
    seen: dict[int, Any] = {}
    todo = [root]
    while todo and len(seen) < limit:
        obj = todo.pop()
        kind = type(obj)
        if id(obj) in seen:
            continue
        seen[id(obj)] = obj
        if kind in (dict, list, tuple, set, frozenset) or issubclass(kind, serializers.Field):
            todo.extend(gc.get_referents(obj))
    return list(seen.values())
