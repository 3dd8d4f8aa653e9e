"""A URL in a message or a log never shows its password, however it is written."""

from __future__ import annotations

from appliance.redact import redact_url


def test_a_url_is_shown_without_its_password() -> None:
    cases = {
        "postgresql://bo:s3cret@db:5432/bo": "postgresql://bo:***@db:5432/bo",
        "postgresql://bo@db/bo?password=s3cret&sslmode=require": (
            "postgresql://bo@db/bo?password=***&sslmode=require"
        ),
        "mqtt://user:pa/s3cret@host:1883": "mqtt://user:***@host:1883",
        "mqtts://u:p@s3cret@host": "mqtts://u:***@host",
        "sqlite:///var/backoffice.db": "sqlite:///var/backoffice.db",
        "mqtt://127.0.0.1:1883": "mqtt://127.0.0.1:1883",
        # a password holding what would start a query or a fragment
        "mqtt://user:pa#s3cret@host:1883": "mqtt://user:***@host:1883",
        "postgresql://bo:s3c?ret@db/bo": "postgresql://bo:***@db/bo",
        # a parameter's name percent-encoded or in capitals, or a value holding one
        "postgresql://db/bo?%70assword=s3cret&sslmode=require": (
            "postgresql://db/bo?%70assword=***&sslmode=require"
        ),
        "postgresql://db/bo?PASSWORD=s3cret": "postgresql://db/bo?PASSWORD=***",
        "postgresql://db/bo?options=-c%20password%3Ds3cret&sslmode=require": (
            "postgresql://db/bo?options=***&sslmode=require"
        ),
        # a value holding & or #, an '@' in the query, a parameter outside a query
        "postgresql://bo@db/bo?password=s3c&ret#x&sslmode=require": (
            "postgresql://bo@db/bo?password=***&sslmode=require"
        ),
        "postgresql://db/bo?user=x&password=a:s3cret@c": "postgresql://db/bo?user=x&password=***",
        "mqtt://host;password=s3cret": "mqtt://host;password=***",
        "host=db password=s3cret dbname=bo": "host=db password=*** dbname=bo",
        # a parameter-shaped path is no parameter
        "sqlite:///var/lib/key=1/bo.db": "sqlite:///var/lib/key=1/bo.db",
    }
    for url, shown in cases.items():
        assert redact_url(url) == shown, url
        assert "s3c" not in redact_url(url)
