"""Named identities: who a request is, and what it may do.

An identity is a name, a secret and rights (``read``; ``write`` includes read). Identities come
from a tokens file (TOML, YAML or JSON: ``NAME = {secret = "...", rights = ["read"]}``) and
from repeated ``--token NAME=SECRET`` (read and write). A bare ``--token SECRET`` (the old form)
is the identity ``token`` (then ``token2``, ...); a secret that contains ``=`` must use the
named form.

HTTP clients send ``Authorization: Bearer SECRET`` (scheme name in any case). Secrets are
compared in constant time (HMAC compare of SHA-256 digests, against every identity). The
identity's *name* is what the command layer logs as ``source`` and what the one-writer rule
keys on, so a client cannot write as someone else by declaring a source. With no identities
configured, everybody is ``anonymous`` with every right (a laptop on loopback).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
RIGHTS = ("read", "write")


class IdentityError(ValueError):
    """A tokens file or ``--token`` value that cannot be used (the message names it)."""


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


@dataclass(frozen=True)
class Identity:
    name: str
    rights: frozenset[str]
    digest: bytes = field(default=b"", repr=False)

    def can(self, right: str) -> bool:
        return right in self.rights or (right == "read" and "write" in self.rights)


ANONYMOUS = Identity("anonymous", frozenset(RIGHTS))


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    secret: str = Field(min_length=1, max_length=4096)
    rights: list[Literal["read", "write"]] = Field(default_factory=lambda: ["read", "write"], min_length=1)


class Identities:
    """The configured identities; ``enabled`` is False when there are none (open server)."""

    def __init__(self, items: list[Identity] | None = None):
        self.items = list(items or [])
        names = [i.name for i in self.items]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise IdentityError(f"identity {dup[0]!r} is defined twice")
        digests = [i.digest for i in self.items]
        if len(set(digests)) != len(digests):
            raise IdentityError("two identities share one secret: every client needs its own")
        self.by_name = {i.name: i for i in self.items}

    @property
    def enabled(self) -> bool:
        return bool(self.items)

    def authenticate(self, secret: str | None) -> Identity | None:
        """The identity holding ``secret``, or None. Compares against every identity, always."""
        if not self.enabled:
            return ANONYMOUS
        if not secret:
            return None
        d = _digest(secret)
        found = None
        for ident in self.items:
            if hmac.compare_digest(d, ident.digest):
                found = ident
        return found

    def check_password(self, name: str | None, password: str | None) -> Identity | None:
        """OPC UA user name + password: the name must be the identity's, the password its secret."""
        ident = self.authenticate(password)
        if ident is None or not hmac.compare_digest((name or "").encode(), ident.name.encode()):
            return None
        return ident

    def from_header(self, authorization: str | None) -> Identity | None:
        return self.authenticate(bearer_secret(authorization))

    @classmethod
    def load(cls, tokens: list[str] | None = None, tokens_file: str | Path | None = None) -> "Identities":
        items: list[Identity] = []
        if tokens_file is not None:
            items += load_tokens_file(tokens_file)
        bare = 0
        for t in tokens or []:
            name, secret = parse_token_option(t)
            if name is None:
                bare += 1
                name = "token" if bare == 1 else f"token{bare}"
            items.append(Identity(name, frozenset(RIGHTS), _digest(secret)))
        return cls(items)


def bearer_secret(authorization: str | None) -> str | None:
    """The credentials of an ``Authorization: Bearer ...`` header (scheme case-insensitive)."""
    if not authorization:
        return None
    scheme, _, cred = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    cred = cred.strip()
    return cred or None


def parse_token_option(value: str) -> tuple[str | None, str]:
    """``NAME=SECRET`` -> (NAME, SECRET); a bare ``SECRET`` (no ``=``) -> (None, SECRET)."""
    value = value.strip()
    if "=" in value:
        name, _, secret = value.partition("=")
        if not NAME_RE.match(name):
            raise IdentityError(f"--token {name}=...: the name must match {NAME_RE.pattern} "
                                "(a bare secret must not contain '=')")
        if not secret:
            raise IdentityError(f"--token {name}=: empty secret")
        return name, secret
    if not value:
        raise IdentityError("--token: empty secret")
    return None, value


def load_tokens_file(path: str | Path) -> list[Identity]:
    """Identities from a TOML, YAML or JSON file: a mapping NAME -> {secret, rights}."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise IdentityError(f"tokens file {p}: {e.strerror or e}") from None
    try:
        if p.suffix.lower() == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            raise IdentityError(f"tokens file {p}: use .toml, .yaml, .yml or .json")
    except IdentityError:
        raise
    except Exception as e:
        raise IdentityError(f"tokens file {p}: cannot parse: {e}") from None
    if not isinstance(data, dict) or not data:
        raise IdentityError(f"tokens file {p}: expected a mapping of identity names to {{secret, rights}}")
    items = []
    for name, spec in data.items():
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise IdentityError(f"tokens file {p}: {name!r}: a name must match {NAME_RE.pattern}")
        try:
            s = _Spec.model_validate(spec)
        except ValidationError as e:
            err = e.errors(include_url=False)[0]
            where = ".".join(str(x) for x in (name, *err["loc"]))
            raise IdentityError(f"tokens file {p}: {where}: {err['msg']}") from None
        items.append(Identity(name, frozenset(s.rights), _digest(s.secret)))
    try:
        if os.name == "posix" and p.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            import warnings

            warnings.warn(f"tokens file {p} is readable by other users (chmod 600 it)", stacklevel=2)
    except OSError:
        pass
    return items
