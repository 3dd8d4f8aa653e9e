"""Sans-I/O device codecs: bytes in, typed events out, never any I/O or clock reads.

Every decoder raises only its own subclass of `CodecError` on garbage, so a
driver can catch exactly that and turn it into an error event.
"""

from hw.protocols.errors import CodecError

__all__ = ["CodecError"]
