"""Where a study lives: a journal file in the runs directory (default) or a database URL.

Default: Optuna's journal file storage, ``<runs>/.sweeps/<name>.journal``, guarded by its
file lock. Nothing to install, and several local worker processes can share it: every
write is one appended, fsynced line under the lock, and readers replay the log. SQLite
also needs nothing installed, but all writers serialise on one database lock: measured with
``bench/sweep.py storage`` (trivial objective, 2 cores), 4 processes told 21 trials/s on
SQLite against 97/s on the journal, 8 processes 7/s against 33/s; past SQLite's busy
timeout the lock turns into "database is locked" errors. So SQLite is only used when asked.

``postgresql://user:pw@host:port/db`` (Optuna's RDB storage) lets workers on any number of
machines join one study; worker death is found by Optuna's heartbeat.

Every problem with a storage URL is a one-line ``BadInput`` naming host and port and never
the password, raised before anything is created.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from densexp_tui.core.errors import BadInput
from densexp_tui.core.fieldspecs import did_you_mean

SWEEPS_DIRNAME = ".sweeps"
JOURNAL_SUFFIX = ".journal"
SCHEMES = ("postgresql", "sqlite")
# Seconds: connecting to a database that is not there must fail fast, not hang the CLI.
CONNECT_TIMEOUT = 3
# Optuna's heartbeat for RDB studies: a worker that missed beats for GRACE_PERIOD is dead.
HEARTBEAT_INTERVAL = 10
GRACE_PERIOD = 30


class StorageError(BadInput):
    """A storage URL that is malformed, misspelled or unreachable."""


@dataclass(frozen=True)
class StorageSpec:
    """A parsed storage choice: ``kind`` is journal, postgresql or sqlite."""

    kind: str
    url: str = ""  # the database URL (driver-qualified) for RDB kinds
    path: Path | None = None  # the journal or sqlite file
    display: str = ""  # the URL with the password hidden: safe to print

    @property
    def is_local(self) -> bool:
        return self.kind in ("journal", "sqlite")


def sweeps_dir(runs_dir: Path) -> Path:
    return Path(runs_dir) / SWEEPS_DIRNAME


def journal_path(runs_dir: Path, study_name: str) -> Path:
    return sweeps_dir(runs_dir) / f"{study_name}{JOURNAL_SUFFIX}"


def redact(url: str) -> str:
    """The URL with any password replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<storage URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{netloc}").geturl()


def parse_storage(url: str | None, runs_dir: Path, study_name: str) -> StorageSpec:
    """What ``--storage`` names; None means the journal file in the runs directory."""
    if not url:
        path = journal_path(runs_dir, study_name)
        return StorageSpec("journal", path=path, display=str(path))
    if "://" not in url:
        path = Path(url).expanduser()
        if path.suffix == JOURNAL_SUFFIX:
            return StorageSpec("journal", path=path.resolve(), display=str(path))
        raise StorageError("not a storage URL; allowed: postgresql://user:pw@host:port/db, "
                           "sqlite:///file.db or a file ending in .journal", file=redact(url))
    scheme = url.split("://", 1)[0].lower()
    base_scheme = scheme.split("+", 1)[0]
    if base_scheme == "postgres":  # libpq accepts it; SQLAlchemy 2 does not
        base_scheme, url = "postgresql", "postgresql" + url[len(scheme):]
        scheme = "postgresql"
    if base_scheme not in SCHEMES:
        hint = did_you_mean(base_scheme, SCHEMES)
        raise StorageError(f"unknown storage scheme {base_scheme!r}{hint}; allowed: "
                           "postgresql://user:pw@host:port/db or sqlite:///file.db",
                           file=redact(url))
    if base_scheme == "sqlite":
        return _sqlite_spec(url)
    return _postgres_spec(url, scheme)


def _sqlite_spec(url: str) -> StorageSpec:
    raw = url.split("://", 1)[1]
    if not raw.startswith("/") or raw == "/":
        raise StorageError("a SQLite URL needs a file; allowed: sqlite:///relative.db or "
                           "sqlite:////absolute/path.db", file=url)
    path = Path(raw[1:]).expanduser().resolve()
    return StorageSpec("sqlite", url=f"sqlite:///{path}", path=path, display=url)


def _postgres_spec(url: str, scheme: str) -> StorageSpec:
    display = redact(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise StorageError(f"malformed URL ({exc}); allowed: postgresql://user:pw@host:port/db",
                           file=display) from None
    if not parts.hostname:
        raise StorageError("no host; allowed: postgresql://user:pw@host:port/db", file=display)
    if not parts.path.strip("/"):
        raise StorageError("no database name; allowed: postgresql://user:pw@host:port/db",
                           file=display)
    if scheme not in ("postgresql", "postgresql+psycopg2"):
        raise StorageError(f"driver {scheme!r} is not installed; allowed: postgresql:// "
                           "(psycopg2)", file=display)
    return StorageSpec("postgresql", url="postgresql+psycopg2" + url[len(scheme):],
                       display=display)


def check_reachable(spec: StorageSpec) -> None:
    """Connect once with a short timeout so a wrong host, port, password or database is one
    clear line before anything is created; the journal and SQLite need no check here."""
    if spec.kind != "postgresql":
        return
    import psycopg2  # lazy: only postgres users pay for it

    parts = urlsplit(spec.url)
    where = f"{parts.hostname}:{parts.port or 5432}"
    try:
        conn = psycopg2.connect(
            host=parts.hostname, port=parts.port or 5432,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            dbname=unquote(parts.path.lstrip("/")), connect_timeout=CONNECT_TIMEOUT,
        )
    except psycopg2.Error as exc:
        reason = _connect_reason(str(exc), parts.password)
        raise StorageError(f"cannot connect to PostgreSQL at {where} ({reason}); allowed: a "
                           "running server and a database the user may open",
                           file=spec.display) from None
    conn.close()


def _connect_reason(text: str, password: str | None) -> str:
    """The useful part of libpq's message, one line, without the password."""
    lowered = text.lower()
    for needle, reason in (
        ("connection refused", "connection refused"),
        ("timeout expired", f"no answer within {CONNECT_TIMEOUT} s"),
        ("could not translate host name", "unknown host"),
        ("password authentication failed", "password authentication failed"),
        ("no password supplied", "a password is required"),
        ("does not exist", "database or role does not exist"),
    ):
        if needle in lowered:
            return reason
    line = " ".join(text.split())
    if password:
        line = line.replace(password, "***")
    return line[:160]


def open_storage(spec: StorageSpec, on_stale: Callable[[Any, Any], None] | None = None) -> Any:
    """The Optuna storage object; creates the journal's folder (call after validation)."""
    import optuna

    if spec.kind == "journal":
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        assert spec.path is not None
        spec.path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(spec.path)))
    if spec.kind == "sqlite":
        assert spec.path is not None
        spec.path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.RDBStorage(spec.url, engine_kwargs={"connect_args":
                                                                   {"timeout": 30}})
    return _postgres_storage(spec, on_stale)


def _postgres_storage(spec: StorageSpec, on_stale: Callable[[Any, Any], None] | None) -> Any:
    import optuna
    import sqlalchemy.exc

    kwargs: dict[str, Any] = dict(
        engine_kwargs={"connect_args": {"connect_timeout": CONNECT_TIMEOUT},
                       "pool_pre_ping": True},
        heartbeat_interval=HEARTBEAT_INTERVAL, grace_period=GRACE_PERIOD,
        heartbeat_stale_trial_callback=on_stale,
    )
    # Two workers starting at once on an empty database both create Optuna's tables and
    # one of them loses the race with a duplicate-key error; the second attempt finds them.
    for attempt in range(5):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # heartbeat options are "experimental"
                return optuna.storages.RDBStorage(spec.url, **kwargs)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
        except sqlalchemy.exc.OperationalError:
            raise StorageError("the database stopped answering while opening the study",
                               file=spec.display) from None
    raise AssertionError("unreachable")
