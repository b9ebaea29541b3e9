"""The web app's secret key when MOVE_SECRET_KEY is not set: random, made on the first start and
kept in a file only its owner may read (settings.SECRET_KEY_FILE, var/secret_key), so signed staff
sessions, CSRF tokens and chat session ids survive a restart and nobody can sign them from the
source code.

Production sets MOVE_SECRET_KEY (the same on every web instance; scripts/stack.py and create_app
refuse the production profile without it): a key made on one machine would differ on the next.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

log = logging.getLogger(__name__)

KEY_BYTES = 48  # secrets.token_urlsafe(48): 64 characters, 384 random bits
MIN_KEY_CHARS = 32
FILE_MODE = 0o600


def load_or_create(path: str | Path) -> str:
    """The key in `path`, made (and announced in one log line) if the file does not exist yet.

    Several gunicorn workers may start at once: the key is written to a private temporary file and
    linked into place, which fails if another worker got there first; then that worker's key is
    read. A file others may read is made private again."""
    path = Path(path)
    if not path.exists():
        _create(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("secret key file %s was readable by others (mode %o): made private (%o)", path, mode, FILE_MODE)
        os.chmod(path, FILE_MODE)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_KEY_CHARS:
        raise RuntimeError(f"the secret key file {path} is damaged (shorter than {MIN_KEY_CHARS} characters): "
                           "delete it to make a new one (signs everyone out) or set MOVE_SECRET_KEY")
    return key


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)  # whatever the umask
            handle.write(secrets.token_urlsafe(KEY_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # atomic, and never replaces a key another worker just made
        except FileExistsError:
            return
    finally:
        temporary.unlink(missing_ok=True)
    log.warning("no MOVE_SECRET_KEY set: generated a random secret key in %s (mode 600); set MOVE_SECRET_KEY in production", path)
