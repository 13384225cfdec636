"""The admin console's secret: where it comes from and how a login is checked.

The recommended source is a file (``STUDYBOT_ADMIN_PASSWORD_FILE``) holding a salted scrypt hash made
by ``studybot admin-password FILE``; a file with the password in clear text works too. The
``STUDYBOT_ADMIN_PASSWORD`` variable still works, but a process's environment is readable wherever
``/proc/<pid>/environ`` is (a leaked file read then opens the console), so serving with it logs a
warning.

    secret = admin_secret(settings)      # None: no password configured, the console is not served
    secret.verify("admin", "…")          # constant time
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from bot.core.settings import Settings

log = logging.getLogger("studybot")

SCHEME = "scrypt"
# scrypt cost: ~50 ms and 16 MB per check on this class of machine; logins are rare, guesses costly.
N, R, P = 2**14, 8, 1
MIN_PASSWORD_CHARS = 12


class AdminSecretError(ValueError):
    """The configured admin secret cannot be used; str(e) says why and what to do."""


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64): the line ``studybot admin-password`` writes."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"{SCHEME}${n}${r}${p}${b64(salt)}${b64(digest)}"


def _check_hash(stored: str, password: str) -> bool:
    _, n, r, p, salt, digest = stored.split("$")
    expected = base64.b64decode(digest)
    got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                         dklen=len(expected), maxmem=256 * 1024 * 1024)
    return hmac.compare_digest(got, expected)


def _is_hash(text: str) -> bool:
    parts = text.split("$")
    return len(parts) == 6 and parts[0] == SCHEME and all(x.isdigit() for x in parts[1:4])


@dataclass(frozen=True)
class AdminSecret:
    user: str
    _value: str  # the password, or a scrypt line
    hashed: bool
    source: str  # "file" | "environment"

    def verify(self, user: str, password: str) -> bool:
        user_ok = hmac.compare_digest((user or "").encode(), self.user.encode())
        if self.hashed:
            pw_ok = _check_hash(self._value, password or "")
        else:
            pw_ok = hmac.compare_digest((password or "").encode(), self._value.encode())
        return bool(user_ok & pw_ok)

    def __repr__(self) -> str:  # never the secret, not even in a traceback
        return f"AdminSecret(user={self.user!r}, hashed={self.hashed}, source={self.source!r})"


def admin_secret(settings: Settings) -> AdminSecret | None:
    """The configured secret, or None when the console is off. Raises AdminSecretError for a file that
    is missing, empty or malformed, or when both the file and the variable are set."""
    env_pw = settings.admin_password.get_secret_value() if settings.admin_password else ""
    path = settings.admin_password_file
    if path is None:
        return AdminSecret(settings.admin_user, env_pw, False, "environment") if env_pw else None
    if env_pw:
        raise AdminSecretError("both STUDYBOT_ADMIN_PASSWORD and STUDYBOT_ADMIN_PASSWORD_FILE are set: keep only the file")
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise AdminSecretError(f"cannot read the admin password file {path}: {e}") from e
    if not text:
        raise AdminSecretError(f"the admin password file {path} is empty")
    if text.startswith(SCHEME + "$") and not _is_hash(text):
        raise AdminSecretError(f"the admin password file {path} holds a malformed scrypt line; "
                               "write it again with `studybot admin-password FILE`")
    return AdminSecret(settings.admin_user, text, _is_hash(text), "file")


def protected_files(settings: Settings) -> list[str]:
    """Files no web request may ever read: the secrets' files and the settings file beside the process."""
    out = [str(Path(".env").resolve())]
    for secret_file in (settings.admin_password_file, settings.api_key_file):
        if secret_file:
            out.append(str(Path(secret_file).resolve()))
    return out


def warn_if_environment(secret: AdminSecret | None) -> None:
    if secret is not None and secret.source == "environment":
        log.warning("the admin password comes from STUDYBOT_ADMIN_PASSWORD, readable in this process's environment; "
                    "prefer `studybot admin-password FILE` and STUDYBOT_ADMIN_PASSWORD_FILE=FILE")


def write_secret_file(path: Path, password: str) -> None:
    """Writes the hash with owner-only permissions, atomically (a crash leaves the old file or none)."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise AdminSecretError(f"use at least {MIN_PASSWORD_CHARS} characters")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(hash_password(password) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
