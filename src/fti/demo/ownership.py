"""What the demo owns in a project, so it replaces its own objects and never a user's.

The demo's objects have plain names (``card_features``, ``transactions``, ``cc_fraud``) that a
user's own work may use too. Each object the demo creates is recorded in ``fti_demo.json`` in
the project's home by kind, catalog id and creation time. A record rather than a tag or a
description on the objects: a description is free text anyone can copy (a user adapting the
demo's code would copy it too), and feature groups and views have no tags. An id with its
creation time names one object: a user's object made after deleting the demo's (same name,
perhaps the same reused id) has another creation time, so it is never taken for the demo's.
Losing the file errs on the safe side: the demo then owns nothing and asks for ``reset``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fti.errors import AlreadyExistsError, FtiError

if TYPE_CHECKING:
    from fti.catalog import Catalog
    from fti.project import Project

MARKER = "fti_demo.json"
GROUPS = (
    "card_features",
    "merchant_features",
    "transactions",
    "cc_fraud_predictions",
    "cc_fraud_inference_log",
)
NAME = "cc_fraud"  # the demo's feature view, model and deployment


@dataclass(frozen=True)
class Owned:
    kind: str  # feature group, feature view, training dataset, model or deployment
    name: str
    version: int
    id: int
    created_at: str

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.kind, self.id, self.created_at)

    def __str__(self) -> str:
        if self.kind == "training dataset":
            return f"training dataset {self.version} of feature view {self.name}"
        return f"{self.kind} {self.name} v{self.version}"


def _catalog(project: Project) -> Catalog:
    return project._catalog


def named(project: Project) -> list[Owned]:
    """Every object of the project that has one of the demo's names, whoever made it."""
    catalog = _catalog(project)
    views = catalog.list_feature_views(NAME)
    records: list[tuple[str, str, Any]] = [
        *(("feature group", r.name, r) for n in GROUPS for r in catalog.list_feature_groups(n)),
        *(("feature view", r.name, r) for r in views),
        # a training dataset someone else made of the demo's view goes with the view
        *(
            ("training dataset", NAME, r)
            for v in views
            for r in catalog.list_training_datasets(v.id)
        ),
        *(("model", r.name, r) for r in catalog.list_model_versions(NAME)),
        *(("deployment", r.name, r) for r in catalog.list_deployments(NAME)),
    ]
    return [
        Owned(kind, name, r.version, r.id, r.created_at.isoformat()) for kind, name, r in records
    ]


def _recorded(home: Path) -> set[tuple[str, int, str]]:
    try:
        objects = json.loads((home / MARKER).read_text())["objects"]
        return {Owned(**o).key for o in objects}
    except (OSError, ValueError, KeyError, TypeError):  # none, or unreadable: owns nothing
        return set()


def foreign(project: Project, demo: list[Owned] | None = None) -> list[Owned]:
    """The objects with one of the demo's names that the demo did not create."""
    recorded = _recorded(project.home)
    return [o for o in (named(project) if demo is None else demo) if o.key not in recorded]


def remember(project: Project) -> None:
    """Record every object now holding one of the demo's names as the demo's. Called right
    after the demo created objects, in a project it cleared of all such names first."""
    path = project.home / MARKER
    objects = [asdict(o) for o in named(project)]
    body = {"written_by": "fti demo: the objects it created (it replaces only these)"}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({**body, "objects": objects}, indent=1))
    os.replace(temporary, path)  # never a half-written record


def _users(project: Project, demo: list[Owned]) -> list[str]:
    """Objects without a demo name that use one of the demo's: deleting it would break them
    (and the catalog refuses to)."""
    catalog = _catalog(project)
    ids = {kind: {o.id for o in demo if o.kind == kind} for kind in ("feature group", "model")}
    views = {o.id for o in demo if o.kind == "feature view"}
    found = [
        f"feature view {v.name} v{v.version}"
        for g in ids["feature group"]
        for v in catalog.feature_views_of_group(g)
        if v.name != NAME
    ]
    found += [
        f"model {m.name} v{m.version}"
        for m in catalog.list_model_versions()
        if m.feature_view_id in views and m.name != NAME
    ]
    found += [
        f"deployment {d.name} v{d.version}"
        for d in catalog.list_deployments()
        if d.name != NAME
        and (
            {d.model_version_id, d.fallback_model_version_id} & ids["model"]
            or d.feature_view_id in views
        )
    ]
    return sorted(set(found))


def clear(project: Project, reset: bool = False) -> None:
    """Delete every object with one of the demo's names, so the demo can create them afresh.

    Raises (having written nothing) when one of them is not the demo's and ``reset`` is
    False, or when another object uses one of them (``reset`` or not).
    """
    demo = named(project)
    others = foreign(project, demo)
    if others and not reset:
        raise AlreadyExistsError(
            f"the project in {project.home} holds {', '.join(map(str, others))}, which the "
            "demo did not create and would replace: run the demo in another home (--home), "
            "or delete them with fti demo --reset"
        )
    users = _users(project, demo)
    if users:
        raise FtiError(
            f"{', '.join(users)} in {project.home} use(s) objects the demo replaces: delete "
            "them first or run the demo in another home (--home)"
        )
    _delete(project)
    remember(project)


def _delete(project: Project) -> None:
    # users first: deployments, then models (and their aliases), views, groups
    serving = project.get_model_serving()
    if any(d.name == NAME for d in serving.get_deployments()):
        serving.delete_deployment(NAME)
    registry = project.get_model_registry()
    for model in registry.list_models():
        if model.name == NAME:
            for alias in model.aliases:
                registry.delete_alias(model.name, alias)
            model.delete()
    fs = project.get_feature_store()
    for fv in fs.get_feature_views(NAME):
        fv.delete(force=True)
    for name in GROUPS:
        for fg in fs.get_feature_groups(name):
            fg.delete()
