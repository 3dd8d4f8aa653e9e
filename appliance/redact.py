"""Secrets kept out of messages and logs: a URL with its password hidden."""

import re
from urllib.parse import unquote

SECRET_NAMES = frozenset(
    {"password", "passwd", "pass", "pwd", "sslpassword", "secret", "token", "access_token", "key"}
)
"""Parameter names whose values are hidden, compared percent-decoded and in any case."""

# name=value, after the start, ? & ; or white space (a libpq keyword string); the value
# runs to the next such parameter, so a password holding & ; # or ? is hidden whole
_PARAM = re.compile(r"(^|[?&;\s])([^=/?&;#\s]+)=(.*?)(?=[&;\s][^=/?&;#\s]*=|$)", re.DOTALL)


def _hide_secret_params(text: str) -> str:
    def hide(match: re.Match[str]) -> str:
        name, value = unquote(match[2]).lower(), unquote(match[3]).lower()
        # a value that carries one, as libpq's options=-c%20password%3D... can
        if name in SECRET_NAMES or any(f"{n}=" in value for n in SECRET_NAMES):
            return f"{match[1]}{match[2]}=***"
        return match[0]

    return _PARAM.sub(hide, text)


def redact_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs: `user:***@host`, and
    `password=***` (or secret, token, key, spelt in any case or percent-encoded, or a
    value holding one) in the query or anywhere a parameter can stand.

    Over-hides rather than leaks: the user part runs to the last '@', so a password
    holding an unescaped '/', '@', '?' or '#' is hidden whole."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    userinfo, at, host = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if at and colon:
        rest = f"{user}:***@{host}"
    return f"{scheme}{sep}{_hide_secret_params(rest)}"
