"""SQLAlchemy table definitions of the catalog (the current schema, migrated by Alembic)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

feature_groups = sa.Table(
    "feature_groups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("primary_key", sa.JSON, nullable=False),
    sa.Column("event_time", sa.String(128)),
    sa.Column("partition_key", sa.JSON, nullable=False),
    sa.Column("online_enabled", sa.Boolean, nullable=False),
    sa.Column("statistics_enabled", sa.Boolean, nullable=False),
    # StatisticsConfig.to_dict() (None: the default, with statistics_enabled)
    sa.Column("statistics_config", sa.JSON),
    # Readable feature list (name, type, description) and the exact Arrow schema (IPC, base64).
    sa.Column("features", sa.JSON),
    sa.Column("arrow_schema", sa.Text),
    sa.Column("expectation_suite", sa.JSON),
    # On-demand transformations: [{name, version, hash, inputs, outputs}] in run order.
    sa.Column("transformation_functions", sa.JSON),
    # relative to the project's offline root (a copied home has its own tables)
    sa.Column("location", sa.Text, nullable=False),
    # the newest commit the catalog recorded: a missing table then reads as missing, not empty
    sa.Column("last_commit", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    # Optimistic concurrency: every update checks and bumps it.
    sa.Column("revision", sa.Integer, nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_feature_groups_name_version"),
)

statistics = sa.Table(
    "statistics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "feature_group_id",
        sa.Integer,
        sa.ForeignKey("feature_groups.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("commit_id", sa.Integer, nullable=False),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("content", sa.JSON, nullable=False),
    sa.UniqueConstraint("feature_group_id", "commit_id", name="uq_statistics_fg_commit"),
)

validation_reports = sa.Table(
    "validation_reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "feature_group_id",
        sa.Integer,
        sa.ForeignKey("feature_groups.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # NULL when the insert was rejected: nothing was committed.
    sa.Column("commit_id", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("ingestion", sa.String(16), nullable=False),
    sa.Column("content", sa.JSON, nullable=False),
)

feature_views = sa.Table(
    "feature_views",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    # The query tree (groups by name and version, selections, joins, filter) as JSON.
    sa.Column("query", sa.JSON, nullable=False),
    # The fixed, recorded feature order: name, type and source group of each output column.
    sa.Column("features", sa.JSON, nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("inference_helper_columns", sa.JSON, nullable=False),
    sa.Column("training_helper_columns", sa.JSON, nullable=False),
    sa.Column("transformation_functions", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    # fv.log: {"enabled", "paused", "extra_columns"} (null: not enabled)
    sa.Column("logging", sa.JSON),
    sa.UniqueConstraint("name", "version", name="uq_feature_views_name_version"),
)

# Lineage: which feature groups a feature view reads, and how each is joined.
feature_view_groups = sa.Table(
    "feature_view_groups",
    metadata,
    sa.Column(
        "feature_view_id",
        sa.Integer,
        sa.ForeignKey("feature_views.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "feature_group_id",
        sa.Integer,
        sa.ForeignKey("feature_groups.id", ondelete="RESTRICT"),
        primary_key=True,
    ),
    sa.Column("join_kind", sa.String(32), nullable=False),
)

training_datasets = sa.Table(
    "training_datasets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "feature_view_id",
        sa.Integer,
        sa.ForeignKey("feature_views.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    # Time window, filter, split specification and seed: everything needed to re-create it.
    sa.Column("spec", sa.JSON, nullable=False),
    # The Delta commit of every feature group read ("name:version" -> commit id).
    sa.Column("commits", sa.JSON, nullable=False),
    sa.Column("statistics", sa.JSON),
    sa.Column("transformation_state", sa.JSON),
    sa.Column("data_format", sa.String(16)),
    sa.Column("location", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.UniqueConstraint("feature_view_id", "version", name="uq_training_datasets_fv_version"),
)

# Every transformation function's source, versioned by content: the same name with new code is
# a new version, the same code is the same version.
transformation_functions = sa.Table(
    "transformation_functions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_transformation_functions_name_version"),
    sa.UniqueConstraint("name", "hash", name="uq_transformation_functions_name_hash"),
)

# -- the model registry -----------------------------------------------------------------------

models = sa.Table(
    "models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("flavor", sa.String(32), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("input_example", sa.JSON),
    sa.Column("model_schema", sa.JSON),
    # Lineage: the feature view read and the training-dataset version trained on.
    sa.Column(
        "feature_view_id", sa.Integer, sa.ForeignKey("feature_views.id", ondelete="RESTRICT")
    ),
    sa.Column("training_dataset_version", sa.Integer),
    sa.Column("environment", sa.JSON, nullable=False),
    sa.Column("code", sa.JSON, nullable=False),
    # Where the artifacts are and every file's sha256 and size: the version's integrity.
    sa.Column("artifact_uri", sa.Text, nullable=False),
    sa.Column("manifest", sa.JSON, nullable=False),
    sa.Column("card", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.UniqueConstraint("model_id", "version", name="uq_model_versions_model_version"),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), primary_key=True),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.String(256), nullable=False),
    sa.Column("approved_by", sa.String(256)),
)

# Every move of an alias, kept forever: who pointed production where, when, approved by whom.
model_alias_history = sa.Table(
    "model_alias_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
    sa.Column("alias", sa.String(64), nullable=False),
    sa.Column("from_version", sa.Integer),
    sa.Column("to_version", sa.Integer),  # NULL: the alias was removed
    sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("moved_by", sa.String(256), nullable=False),
    sa.Column("approved_by", sa.String(256)),
)

# -- deployments ------------------------------------------------------------------------------

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # NULL for a feature-view deployment (feature vectors for model servers outside fti)
    sa.Column(
        "model_version_id", sa.Integer, sa.ForeignKey("model_versions.id", ondelete="RESTRICT")
    ),
    sa.Column(
        "feature_view_id", sa.Integer, sa.ForeignKey("feature_views.id", ondelete="RESTRICT")
    ),
    sa.Column("training_dataset_version", sa.Integer),
    sa.Column("passed_features", sa.JSON, nullable=False),
    sa.Column("request_parameters", sa.JSON, nullable=False),
    sa.Column("predictor", sa.JSON),  # a custom predictor's class name, source and sha256
    sa.Column("fallback", sa.JSON, nullable=False),  # missing policy, lookup timeout
    # another version of the same model answering when this one raises
    sa.Column(
        "fallback_model_version_id",
        sa.Integer,
        sa.ForeignKey(
            "model_versions.id", name="fk_deployments_fallback_model_version", ondelete="RESTRICT"
        ),
    ),
    # operational options, not part of the contract (schema_version ignores them)
    sa.Column("resources", sa.JSON, nullable=False, server_default="{}"),
    sa.Column("slo", sa.JSON),
    # The public contract: what a request carries and what it returns. schema_version moves
    # only when the contract changes (e.g. other serving keys), not with the model version.
    sa.Column("schema", sa.JSON, nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_deployments_name_version"),
)

# The desired state of each deployment name (no row: running). Servers poll it: a name that
# becomes stopped stops answering, one that becomes running again is served.
deployment_states = sa.Table(
    "deployment_states",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.String(256), nullable=False),
    sa.CheckConstraint("state IN ('running', 'stopped')", name="ck_deployment_states_state"),
)
