"""Files written whole or not at all (model files, the study's records)."""

import os
import secrets
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_writer(path):
    """A binary stream whose content replaces ``path`` only once all of it is on disk.

    A crash or an exception leaves ``path`` as it was (at worst a hidden
    ``.<name>.<random>.tmp`` beside it, which the study's store removes).
    """
    path = Path(path)
    temporary = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    # not tempfile.mkstemp: its 0600 would make the file's mode differ from its siblings',
    # which open() creates with 0666 less the umask, as os.open does here
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
