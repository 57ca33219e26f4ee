"""``fti demo``: the credit-card system end to end, in a project of its own."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import typer
from rich.markup import escape
from rich.table import Table

from fti.cli.common import console, fmt, project, table

DEMO_HOME = "fti_demo"  # its own project: the demo's names never meet a user's ./fti_home
SERVE_URL = "http://127.0.0.1:8000"  # fti serve's default address


def _table(title: str, data: pa.Table) -> Table:
    data = data.select(["cc_num", "event_ts", "spend_1d", "spend_7d"])
    out = table(*data.column_names, title=title, right=("spend_1d", "spend_7d"))
    for row in data.to_pylist():
        out.add_row(*(fmt(v) for v in row.values()))
    return out


def demo(
    ctx: typer.Context,
    scale: Annotated[
        float,
        typer.Option(
            metavar="X", help="Data size: 1.0 is the full benchmark workload (1M card rows)."
        ),
    ] = 0.1,
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed of the generated data.")] = 42,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="Delete objects with the demo's names that the demo did not create (they "
            "make it stop otherwise).",
        ),
    ] = False,
) -> None:
    """Run a whole credit-card fraud system end to end in its own project (about a minute on
    2 cores at the default scale).

    The steps: a feature pipeline (seeded cards, merchants and transactions inserted into
    three feature groups: Delta tables, online store, validation; then a late correction
    and time travel), a feature view with point-in-time correct training data, a training
    pipeline (an XGBoost model registered with its metrics and lineage), batch inference into
    a feature group, and a deployment served over HTTP on a local port answering real
    requests, each logged, with Prometheus metrics per step.

    The project is ./fti_demo unless --home or FTI_HOME names another. Running the demo again
    replaces what it created before (recorded in fti_demo.json there); objects with its
    names (card_features, merchant_features, transactions, cc_fraud, ...) that it did not
    create make it stop, having written nothing, unless --reset.
    """
    from fti.demo.pipeline import run_feature_pipeline

    home = ctx.obj.home or Path(DEMO_HOME)
    with project(ctx, create=True, home=home) as opened:
        console.print(f"[bold]fti demo[/bold] in {opened.home}", soft_wrap=True)
        report = run_feature_pipeline(
            opened,
            scale=scale,
            seed=seed,
            on_step=lambda s: console.print(f"• {s}"),
            reset=reset,
        )
        numbers = ("rows", "seconds", "rows/s", "commit", "online keys")
        summary = table("feature group", *numbers, title="Feature pipeline", right=numbers)
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
            vector = table(
                "column",
                "untransformed",
                "to the model",
                title=f"Online feature vector for {report.serving_keys}",
            )
            for name, value in report.vector.vector.items():
                # the keys and event time come with the vector; the model does not read them
                given = fmt(value) if name in report.model_features else "[dim]not read[/dim]"
                vector.add_row(name, fmt(report.vector.untransformed.get(name, "")), given)
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
            _print_next_steps(opened.home, system)


def _print_next_steps(home: Path, system: Any) -> None:
    where = shlex.quote(str(home))
    request = {k: system.responses[0][k] for k in ("cc_num", "merchant_id", "amount")}
    console.print(
        f"\nThe project is in {home}. Look around:\n\n"
        f"  fti --home {where} fg list\n  fti --home {where} fv show cc_fraud\n"
        f"  fti --home {where} model show cc_fraud\n\n"
        f"Serve the deployment (Ctrl-C stops it):\n\n  fti --home {where} serve\n\n"
        "and ask it from another terminal:\n\n"
        f"  curl -s -X POST {SERVE_URL}/v1/deployments/cc_fraud/predict "
        f"-H 'Content-Type: application/json' -d '{escape(json.dumps(request))}'\n",
        soft_wrap=True,
        highlight=False,
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
    answers = table(
        "cc_num", "merchant_id", "amount", "prediction", "ms",
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
    steps = table("step", "mean ms", right=("mean ms",))
    # pipeline order; feature_vector spans lookup, on-demand and model-dependent
    order = ["feature_lookup", "on_demand", "model_dependent", "feature_vector", "predict"]
    for step in sorted(system.step_ms, key=lambda s: order.index(s) if s in order else 99):
        steps.add_row(step, f"{system.step_ms[step]:.3f}")
    console.print(steps)
