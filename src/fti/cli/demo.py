"""``fti demo``: the credit-card system end to end on the embedded default."""

from __future__ import annotations

from typing import Annotated, Any

import pyarrow as pa
import typer
from rich.table import Column, Table

from fti.cli.common import console, fmt, project


def _table(title: str, data: pa.Table) -> Table:
    data = data.select(["cc_num", "event_ts", "spend_1d", "spend_7d"])
    table = Table(*data.column_names, title=title, title_justify="left")
    for row in data.to_pylist():
        table.add_row(*(fmt(v) for v in row.values()))
    return table


def demo(
    ctx: typer.Context,
    scale: Annotated[
        float, typer.Option(help="Data size: 1.0 is the full benchmark workload (1M card rows).")
    ] = 0.1,
    seed: Annotated[int, typer.Option(help="Random seed of the generated data.")] = 42,
) -> None:
    """Run the credit-card feature pipeline and show what it wrote.

    Generates seeded credit-card data (cards, merchants, transactions over 60 days), inserts
    it into three feature groups (offline Delta tables, online store for cards and merchants,
    an expectation suite on card features), then re-inserts a late correction and shows time
    travel: commit 0 still holds the old values. A feature view gives a train/test split with
    model-dependent transformations, and serves one online feature vector.
    """
    from fti.demo.pipeline import run_feature_pipeline

    with project(ctx) as opened:
        console.print(f"[bold]fti demo[/bold] in {opened.home}")
        report = run_feature_pipeline(
            opened, scale=scale, seed=seed, on_step=lambda s: console.print(f"• {s}")
        )
        summary = Table(title="Feature pipeline", title_justify="left")
        for column in ("feature group", "rows", "seconds", "rows/s", "commit", "online keys"):
            summary.add_column(column, justify="right" if column != "feature group" else "left")
        steps = [*report.inserts, *([report.correction] if report.correction else [])]
        for step in steps:
            summary.add_row(
                step.feature_group,
                f"{step.rows:,}",
                f"{step.seconds:.2f}",
                f"{step.rows_per_second:,.0f}",
                str(step.commit_id),
                f"{step.online_rows:,}",
            )
        console.print(summary)
        if report.rows_before_correction is not None:
            console.print(_table("card_features as of commit 0", report.rows_before_correction))
        if report.rows_after_correction is not None:
            console.print(
                _table("card_features now (late correction)", report.rows_after_correction)
            )
        if report.online_sample is not None:
            console.print(_table("online store (newest per card)", report.online_sample))
        if report.training is not None:
            t = report.training
            console.print(
                f"[bold]Training data[/bold]: feature view {t.feature_view} v"
                f"{t.feature_view_version}, training dataset version "
                f"{t.training_dataset_version} in {t.seconds:.2f} s: X_train {t.train_shape}, "
                f"X_test {t.test_shape}, fraud rate in train {t.fraud_rate_train:.2%}\n"
                f"features: {', '.join(t.features)}\ncommits read: {t.commits}\n"
                f"re-created after the late correction: "
                + (
                    "[green]bit-identical[/green]"
                    if t.recreated_identical
                    else "[red]DIFFERENT[/red]"
                )
            )
        if report.vector is not None:
            vector = Table("feature", "untransformed", "to the model", title_justify="left")
            vector.title = f"Online feature vector for {report.serving_keys}"
            for name, value in report.vector.vector.items():
                vector.add_row(name, fmt(report.vector.untransformed.get(name, "")), fmt(value))
            console.print(vector)
        if report.data is not None and report.training is not None:
            from fti.demo.system import run_system

            system = run_system(
                opened,
                report.data,
                report.training.training_dataset_version,
                on_step=lambda s: console.print(f"• {s}"),
            )
            _print_system(system)
        home = opened.home
        console.print(
            f"Project files are in {home}. Try: [bold]fti --home {home} fg list[/bold]"
            f" or [bold]fti --home {home} fg show card_features[/bold]"
        )


def _print_system(system: Any) -> None:
    groups = ", ".join(
        f"{g['name']} v{g['version']}@{g['commit']}" for g in system.lineage["feature_groups"]
    )
    console.print(
        f"[bold]Model[/bold] cc_fraud v{system.model_version} (XGBoost, alias production): "
        f"{system.metrics}; trained on feature view cc_fraud v1, training dataset "
        f"{system.lineage['training_dataset']['version']}, feature groups {groups}"
    )
    console.print(
        f"[bold]Batch inference[/bold]: {system.batch_rows:,} transactions of the last day "
        f"scored in {system.batch_seconds:.2f} s into feature group {system.predictions_group}"
    )
    answers = Table(
        "cc_num", "merchant_id", "amount", "prediction", "ms", title_justify="left",
        title=f"Online inference over HTTP ({system.url}/v1/deployments/cc_fraud/predict)",
    )  # fmt: skip
    for r in system.responses:
        answers.add_row(
            str(r["cc_num"]),
            str(r["merchant_id"]),
            fmt(r["amount"]),
            str(r["prediction"]),
            fmt(r["timings_ms"]["total"]),
        )
    console.print(answers)
    console.print(
        f"Inference log: {system.logged_rows} rows in feature group cc_fraud_inference_log v1 "
        f"(fv.read_log()). Prometheus metrics at /metrics: {system.requests_counted} requests; "
        "mean ms per request of each step:"
    )
    steps = Table("step", Column("mean ms", justify="right"))
    # pipeline order; feature_vector spans lookup, on-demand and model-dependent
    order = ["feature_lookup", "on_demand", "model_dependent", "feature_vector", "predict"]
    for step in sorted(system.step_ms, key=lambda s: order.index(s) if s in order else 99):
        steps.add_row(step, f"{system.step_ms[step]:.3f}")
    console.print(steps)
