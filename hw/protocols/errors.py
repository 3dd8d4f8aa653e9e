"""The one base class every codec's error derives from."""


class CodecError(ValueError):
    """Bytes a codec cannot make sense of; the message names what was wrong."""
