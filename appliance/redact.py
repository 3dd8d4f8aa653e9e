"""Secrets kept out of messages and logs: a URL with its password hidden."""

import re

_SECRET_QUERY = re.compile(
    r"(?i)([?&;](?:password|passwd|pass|pwd|sslpassword|secret|token|access_token|key)=)[^&;#]*"
)


def redact_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs: `user:***@host`, and
    `password=***` (or secret, token, key) in the query. Over-hides rather than leaks: the
    user part runs to the last '@' before the query, so a password holding an unescaped
    '/' or '@' is hidden whole."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    head, query = rest[:cut], rest[cut:]
    userinfo, at, host = head.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        head = f"{user}{':***' if colon else ''}@{host}"
    return f"{scheme}{sep}{head}" + _SECRET_QUERY.sub(r"\1***", query)
