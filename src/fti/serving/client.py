"""``fti.Client(url)``: the deployments of a remote ``fti serve``, over HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fti import errors
from fti.errors import FtiError


def _error(name: Any, message: str) -> FtiError:
    """The exception of fti's tree the server named; FtiError for another name or for a
    class that takes more than a message."""
    found = getattr(errors, str(name), None)
    if isinstance(found, type) and issubclass(found, FtiError):
        try:
            return found(message)
        except TypeError:
            pass
    return FtiError(message)


class Client:
    """A client of an fti server; errors come back as the same exception classes."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        import httpx

        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)

    def _check(self, response: Any) -> Any:
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"detail": response.text}
            detail = body.get("detail", body)
            raise _error(body.get("error"), f"HTTP {response.status_code}: {detail}")
        return response.json()

    def deployments(self) -> list[dict[str, Any]]:
        return list(self._check(self._http.get("/v1/deployments")))

    def deployment(self, name: str) -> dict[str, Any]:
        return dict(self._check(self._http.get(f"/v1/deployments/{name}")))

    def predict(
        self,
        name: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        instances: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """One instance or a batch, as ``Deployment.predict`` in-process."""
        body = dict(inputs) if inputs is not None else {"instances": list(instances or [])}
        return dict(self._check(self._http.post(f"/v1/deployments/{name}/predict", json=body)))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
