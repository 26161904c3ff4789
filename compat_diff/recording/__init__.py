"""The versioned recording format (spec section 3): writer, streaming reader, migrations."""

from compat_diff.recording.codec import BlobStore, BodyPolicy, decode_exchange, encode_exchange
from compat_diff.recording.format import (
    FORMAT,
    VERSION,
    Problem,
    Recording,
    RecordingWriter,
    blob_dir_for,
    load_exchanges,
    now_iso,
    open_recording,
    read_recording,
)

__all__ = [
    "FORMAT",
    "VERSION",
    "BlobStore",
    "BodyPolicy",
    "Problem",
    "Recording",
    "RecordingWriter",
    "blob_dir_for",
    "decode_exchange",
    "encode_exchange",
    "load_exchanges",
    "now_iso",
    "open_recording",
    "read_recording",
]
