"""Credentials out of everything fti shows or records.

Users put passwords and tokens in URLs (``postgresql://user:pw@host/db``,
``redis://:pw@host``, ``https://user:token@github.com/org/repo``). Error messages, reprs and
logs show :func:`redact`'s version of any text that may hold one; what is recorded (a git
remote in a model version) keeps no credentials at all (:func:`strip_credentials`).

A regular expression, not ``urllib.parse`` or SQLAlchemy's
``make_url(...).render_as_string(hide_password=True)``, because the URL is often inside a
longer message (a driver's error) and often malformed: a bad URL is exactly what ends up in
an error, and ``urlsplit`` ends the host at a ``#``, ``?`` or ``/`` in a raw password and would
show the rest of it. SQLAlchemy's rendering is still used where a parsed URL object is at hand.
"""

from __future__ import annotations

import re

MASK = "***"

# [scheme://]user[:password]@ -- the password runs to the last "@" before whitespace, so an
# unescaped "@", "/" or "#" in it is masked too (over-masking a URL with a port and an "@" in
# its path is the price). "user:" followed by "//" is a scheme, not a user.
_USERINFO = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)?"
    r"(?P<user>[^\s:/@'\"]*)"
    r"(?::(?!//)(?P<password>\S*))?"
    r"@"
)


def _web(scheme: str | None) -> bool:
    # GitHub, GitLab and others take a token alone as the user name of an https URL.
    return scheme is not None and scheme.lower().rstrip(":/").endswith(("http", "https"))


def _mask(match: re.Match[str]) -> str:
    scheme, user, password = match["scheme"], match["user"], match["password"]
    if password is not None:
        return f"{scheme or ''}{user}:{MASK}@"
    if _web(scheme) and user:
        return f"{scheme}{MASK}@"
    return match[0]  # a user name alone (postgres@host, git@github.com) is no secret


def redact(text: str) -> str:
    """``text`` with the password of every URL (or ``user:password@``) in it shown as
    ``***``, and the user name of an http(s) URL too, as it may be a token."""
    return _USERINFO.sub(_mask, text)


def strip_credentials(url: str) -> str:
    """``url`` without its user name and password, for storing: ``https://github.com/...``.
    An scp-style remote (``git@host:org/repo``) has no password and stays as it is."""
    return _USERINFO.sub(lambda m: m["scheme"] if m["scheme"] else _mask(m), url)
