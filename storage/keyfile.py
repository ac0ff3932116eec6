"""Secret keys kept in files: created once, safely, and never replaced.

Used for the platform key (which wraps every tender's key) and the platform's signing key:
losing or silently replacing either would make tenders unopenable or checkpoints
unverifiable, so creation is atomic and a file that exists is only ever read.
"""

from __future__ import annotations

import base64
import os
import secrets
import tempfile
from pathlib import Path


def load_or_create_secret(path: Path, size: int, *, what: str) -> bytes:
    """The ``size``-byte secret in ``path``, creating the file with a random one if missing.

    The file holds the secret in standard base64 and a newline. A new file is created with
    mode 0600, written and flushed to disk under a temporary name and then hard-linked into
    place, so a reader never sees a half-written key, and an existing key is never replaced:
    if two processes race to create it, both end up with the one that was linked first. A
    missing directory for the file is created with mode 0700.

    :param what: what the secret is, for error messages ("platform key").
    :raises ValueError: if the file exists but does not hold a base64-encoded secret of
        ``size`` bytes.
    """
    try:
        return load_secret(path, size, what=what)
    except FileNotFoundError:
        pass
    secret = secrets.token_bytes(size)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(base64.b64encode(secret).decode("ascii") + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            path.hardlink_to(temporary)
        except FileExistsError:
            return load_secret(path, size, what=what)
    finally:
        temporary.unlink()
    # Losing this key is losing what it protects: make the new name durable too.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return secret


def load_secret(path: Path, size: int, *, what: str) -> bytes:
    """The ``size``-byte secret in ``path``, which must exist (``FileNotFoundError`` if not).

    :raises ValueError: as :func:`load_or_create_secret`.
    """
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        secret = base64.b64decode(text, validate=True)
    except ValueError as exc:  # binascii.Error is a ValueError
        raise ValueError(_unusable(path, size, what, str(exc))) from None
    if len(secret) != size:
        raise ValueError(_unusable(path, size, what, f"it holds {len(secret)} bytes"))
    return secret


def _unusable(path: Path, size: int, what: str, problem: str) -> str:
    return (
        f"{what} file {path} does not hold a base64-encoded {size}-byte key ({problem}); "
        "restore it from your backup, or move it away to create a new key (what the old key "
        "protects can then no longer be used)"
    )
