"""The code from the catalog a deployment runs, for a server's allow-list (:mod:`fti.trust`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fti.trust import Code

if TYPE_CHECKING:
    from fti.serving.deployment import Deployment


def needed(deployment: Deployment) -> list[Code]:
    """The code from the catalog that serving ``deployment`` runs, read without running it:
    the on-demand UDFs of the view's groups, the view's model-dependent UDFs (by the hash of
    the source the catalog holds, which is what would run) and the custom predictor."""
    catalog = deployment._serving.catalog
    record = deployment._record
    out: list[Code] = []
    if record.feature_view_id is not None:
        view = catalog.get_feature_view_by_id(record.feature_view_id)
        fv = deployment._serving.feature_store.get_feature_view(view.name, view.version)
        refs = [r for node in fv.query.nodes() for r in node.group._record.transformation_functions]
        refs += [r for r in view.transformation_functions if "builtin" not in r]
        for ref in refs:
            sha256, _ = catalog.get_function(ref["name"], ref["version"])
            out.append(Code("transformation", ref["name"], sha256))
    if record.predictor is not None:
        out.append(Code("predictor", record.predictor["name"], record.predictor["sha256"]))
    return list(dict.fromkeys(out))  # a UDF used twice is listed once
