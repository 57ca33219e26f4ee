"""Versions and aliases against a dict model, by a Hypothesis state machine."""

from __future__ import annotations

import tempfile
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import fti


class Constant:
    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, x: Any) -> Any:
        return [self.value for _ in x]


class Registry(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.project = fti.connect(tempfile.mkdtemp(prefix="fti-sm-"))
        self.mr = self.project.get_model_registry()
        self.versions: dict[int, float] = {}  # version -> auc
        self.aliases: dict[str, int] = {}
        self.moves: dict[str, int] = {}

    def teardown(self) -> None:
        self.project.close()

    @rule(auc=st.floats(0, 1), explicit=st.one_of(st.none(), st.integers(1, 12)))
    def register(self, auc: float, explicit: int | None) -> None:
        if explicit is not None and explicit in self.versions:
            try:
                self.mr.python.create_model("m", version=explicit)
            except fti.FtiError:
                return
            raise AssertionError("a taken version was accepted")
        model = self.mr.python.create_model("m", version=explicit, metrics={"auc": auc})
        model.save(Constant(auc))
        expected = explicit if explicit is not None else max(self.versions, default=0) + 1
        assert model.version == expected
        self.versions[expected] = auc

    @precondition(lambda self: bool(self.versions))
    @rule(alias=st.sampled_from(["production", "staging", "canary"]), data=st.data())
    def move_alias(self, alias: str, data: st.DataObject) -> None:
        version = data.draw(st.sampled_from(sorted(self.versions)))
        self.mr.set_alias("m", version, alias)
        self.aliases[alias] = version
        self.moves[alias] = self.moves.get(alias, 0) + 1

    @precondition(lambda self: bool(self.aliases))
    @rule(data=st.data())
    def remove_alias(self, data: st.DataObject) -> None:
        alias = data.draw(st.sampled_from(sorted(self.aliases)))
        self.mr.delete_alias("m", alias)
        del self.aliases[alias]
        self.moves[alias] += 1

    @precondition(lambda self: bool(self.versions))
    @rule(data=st.data())
    def delete_version(self, data: st.DataObject) -> None:
        version = data.draw(st.sampled_from(sorted(self.versions)))
        model = self.mr.get_model("m", version=version)
        if version in self.aliases.values():
            try:
                model.delete()
            except fti.FtiError:
                return
            raise AssertionError("an aliased version was deleted")
        model.delete()
        del self.versions[version]

    @invariant()
    def registry_matches_the_model(self) -> None:
        if not self.versions:
            return
        assert [m.version for m in self.mr.get_models("m")] == sorted(self.versions)
        for alias, version in self.aliases.items():
            assert self.mr.get_model("m", alias=alias).version == version
        best = max(self.versions.items(), key=lambda kv: (kv[1], kv[0]))
        assert self.mr.get_best_model("m", "auc").version == best[0]
        for alias, count in self.moves.items():
            assert len(self.mr.alias_history("m", alias)) == count


Registry.TestCase.settings = settings(max_examples=12, stateful_step_count=12, deadline=None)
test_registry_state_machine = Registry.TestCase
