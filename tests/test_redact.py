"""No password or token given in a URL shows up in an error, a repr or a recorded field.

Each test builds the thing with a secret in it and scans all of its text (the message, the
repr and the whole traceback with its causes) for the secret."""

from __future__ import annotations

import socket
import subprocess
import traceback
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import fti
from fti._redact import redact, strip_credentials
from fti.catalog.engine import create_engine
from fti.online import open_online_store
from fti.registry import open_artifact_store
from fti.registry.environment import code_version

SECRET = "hunter2-S3CR3T"


def shown(thing: Any) -> str:
    """Everything a user or a log could see of an object or an exception."""
    text = f"{thing}\n{thing!r}"
    if isinstance(thing, BaseException):
        text += "\n" + "".join(traceback.format_exception(thing))
    return text


def assert_hidden(thing: Any) -> None:
    text = shown(thing)
    assert SECRET not in text, text


@pytest.mark.parametrize(
    "text",
    [
        f"postgresql://user:{SECRET}@db.example/fti",
        f"postgresql+psycopg://user:{SECRET}@db.example:5432/fti?sslmode=require",
        f"redis://:{SECRET}@cache:6379/0",
        f"rediss://default:{SECRET}@cache/0?namespace=x",
        f"https://{SECRET}@github.com/org/repo.git",
        f"https://x-access-token:{SECRET}@github.com/org/repo.git",
        f"s3://AKIA:{SECRET}@bucket/prefix",
        f"invalid catalog URL 'postgresql//user:{SECRET}@db/fti': could not parse",
        f"raw p@ss: postgresql://user:a/b#{SECRET}@@db/fti and more",
        f"two: redis://:{SECRET}@a/0, https://u:{SECRET}@b/x",
    ],
)
def test_redact_masks_every_secret_in_a_text(text: str) -> None:
    assert SECRET not in redact(text)
    assert SECRET not in strip_credentials(text)
    assert "***" in redact(text)


def test_redact_keeps_what_is_no_secret() -> None:
    kept = [
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "git@github.com:org/repo.git",
        "alice@laptop pid 12 fti 0.1",
        "http://127.0.0.1:8000/v1/deployments",
        "sqlite:///home/catalog.sqlite",
    ]
    for text in kept:
        assert redact(text) == text
    assert redact(f"redis://:{SECRET}@cache/0") == "redis://:***@cache/0"
    assert strip_credentials(f"https://u:{SECRET}@github.com/o/r") == "https://github.com/o/r"
    assert strip_credentials("git@github.com:org/repo.git") == "git@github.com:org/repo.git"


# -- the catalog URL -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://user:{SECRET}@db.example/fti",  # unsupported
        f"postgresql://user:{SECRET}@db.example:notaport/fti",  # a bad port
        f"postgresql//user:{SECRET}@db.example/fti",  # not a URL at all
    ],
)
def test_a_bad_catalog_url_is_named_without_its_password(url: str, tmp_path: Path) -> None:
    with pytest.raises(fti.ConfigurationError) as caught:
        create_engine(url)
    assert_hidden(caught.value)
    assert "***" in str(caught.value)
    with pytest.raises(fti.ConfigurationError) as caught:
        fti.connect(tmp_path / "home", catalog_url=url)
    assert_hidden(caught.value)


def test_an_unreachable_catalog_is_named_without_its_password() -> None:
    pytest.importorskip("psycopg")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = create_engine(f"postgresql://user:{SECRET}@127.0.0.1:{port}/fti")
    with pytest.raises(fti.BackendUnavailable) as caught, engine.connect():
        pass
    assert_hidden(caught.value)
    assert_hidden(engine)


@pytest.mark.postgres
def test_a_project_on_a_catalog_with_a_password_shows_none(
    postgres_url: str, tmp_path: Path
) -> None:
    # the test server trusts local connections, so any password is accepted
    url = sa.engine.make_url(postgres_url).set(password=SECRET)
    with fti.connect(
        tmp_path / "home", catalog_url=url.render_as_string(hide_password=False)
    ) as project:
        assert_hidden(project)
        assert_hidden(project._catalog.engine)


# -- the online store ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        f"redis+tls://:{SECRET}@cache:6379/0",  # an unknown kind
        f"memcached://user:{SECRET}@cache",
        f"redis://:{SECRET}@cache:notaport/0",  # a bad port
        f"redis://:{SECRET}@cache/0?socket_timeout=soon",  # a bad option
    ],
)
def test_a_bad_online_store_url_is_named_without_its_password(spec: str, tmp_path: Path) -> None:
    pytest.importorskip("redis")
    with pytest.raises(fti.ConfigurationError) as caught:
        open_online_store(spec, tmp_path)
    assert_hidden(caught.value)


def test_an_unreachable_redis_is_named_without_its_password(tmp_path: Path) -> None:
    pytest.importorskip("redis")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = open_online_store(f"redis://:{SECRET}@127.0.0.1:{port}/0", tmp_path)
    try:
        assert_hidden(store)
        assert_hidden(store.address)
        with pytest.raises(fti.OnlineStoreUnavailable, match=f"127.0.0.1:{port}") as caught:
            store.get("t", b"k")
        assert_hidden(caught.value)
    finally:
        store.close()


# -- the artifact store ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [f"https://user:{SECRET}@models.example/x", f"s3://AKIA:{SECRET}@bucket/prefix"],
)
def test_an_artifact_store_url_with_credentials_is_refused_without_showing_them(
    spec: str,
) -> None:
    pytest.importorskip("obstore")
    with pytest.raises(fti.FtiError) as caught:
        open_artifact_store(spec)
    assert_hidden(caught.value)


# -- what a model version records ------------------------------------------------------------


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose remote has a token in its URL, as CI checkouts often do."""
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    (root / "train.py").write_text("print('train')\n")
    _git(root, "add", "train.py")
    _git(root, "commit", "-q", "-m", "first")
    _git(root, "remote", "add", "origin", f"https://ci:{SECRET}@git.example/org/repo.git")
    return root


def test_the_recorded_git_remote_has_no_credentials(
    repo: Path, project: fti.Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = code_version(repo)
    assert code["git_remote"] == "https://git.example/org/repo.git"
    assert code["git_commit"]
    import fti.registry.model

    monkeypatch.setattr(fti.registry.model, "code_version", lambda: code_version(repo))
    mr = project.get_model_registry()
    model = mr.python.create_model("m").save(_Constant())
    assert model.code["git_remote"] == "https://git.example/org/repo.git"
    stored = mr.get_model("m", 1)
    for text in (stored.code, stored.lineage(), stored.card(), stored.record):
        assert_hidden(text)


def test_a_remote_recorded_before_is_not_shown_either(project: fti.Project) -> None:
    """Versions saved by an older fti may hold the credentials: reading shows none."""
    mr = project.get_model_registry()
    model = mr.python.create_model("m").save(_Constant())
    assert model.record is not None
    leaked = {"git_commit": "abc", "git_remote": f"https://ci:{SECRET}@git.example/o/r.git"}
    project._catalog.update_model_version(model.record.id, {"code": leaked})
    stored = mr.get_model("m", 1)
    assert_hidden(stored.code)
    assert_hidden(stored.lineage())


class _Constant:
    def predict(self, x: Any) -> Any:
        return [0 for _ in x]
