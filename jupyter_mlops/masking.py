"""Mask secrets before they reach the database or a message.

Used on params, tags, environment variables, captured source and database URLs::

    >>> mask_url("postgresql+psycopg://me:hunter2@db/mlops")
    'postgresql+psycopg://me:***@db/mlops'
    >>> mask_value("API_TOKEN", "abc")
    '***'
"""

from __future__ import annotations

import re

MASK = "***"

# A key names a secret when one of its words (split on punctuation and camelCase) ends with one of
# these, or is one of the exact words: "API_KEY", "dbPassword", "AUTH" do; "author", "passes" do not.
_SECRET_WORD_ENDINGS = (
    "KEY",
    "KEYS",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "TOKENS",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "DSN",
    "CREDENTIAL",
    "CREDENTIALS",
)
_SECRET_WORDS = {"AUTH", "AUTHORIZATION", "PRIVATE", "COOKIE", "SESSIONID"}
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")

# Values that are secrets whatever their key is called.
_SECRET_VALUES = [
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}"),  # JWT
    re.compile(r"\b(?:ghp|gho|ghs|github_pat|glpat|xox[abpr]|sk)[-_][A-Za-z0-9_-]{16,}"),  # vendor tokens
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
]
# scheme://user:password@host  ->  scheme://user:***@host
# Bounded repeats keep this linear on megabyte-long values (unbounded ones backtrack quadratically).
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-zA-Z][\w+.-]{0,30}://[^:/@\s]{0,256}:)(?P<pw>[^@/\s]{1,256})(?P<at>@)"
)


# A secret-named key given a quoted value in code or text: `API_KEY = "..."`, `password="..."`,
# `"token": "..."`, `secret: str = "..."`. Only the value is masked, and only when the key names a secret.
_KEYED_VALUE = re.compile(
    r"""(?P<head>\b(?P<key>[A-Za-z_][A-Za-z0-9_]{0,100})['"]?\s{0,20}"""
    r"""(?::\s{0,20}[A-Za-z_][\w.\[\], ]{0,60}?\s{0,20}=|[:=])\s{0,20})"""
    r"""(?P<q>['"])(?P<value>[^'"\n]{1,1000})(?P=q)"""
)


def mask_url(url: str) -> str:
    """Hide the password of every ``scheme://user:password@host`` in ``url``."""
    if "://" not in url:
        return url
    return _URL_PASSWORD.sub(lambda m: m["head"] + MASK + m["at"], url)


def mask_text(text: str) -> str:
    """Mask passwords in URLs and values that look like keys or tokens inside free text."""
    text = mask_url(text)
    for pattern in _SECRET_VALUES:
        text = pattern.sub(MASK, text)
    return _KEYED_VALUE.sub(_mask_keyed, text)


def _mask_keyed(match: re.Match[str]) -> str:
    if is_secret_key(match["key"]):
        return f"{match['head']}{match['q']}{MASK}{match['q']}"
    return match[0]


def is_secret_key(key: str) -> bool:
    """True when a key such as ``AWS_SECRET_ACCESS_KEY`` or ``dbPassword`` names a secret."""
    for word in _WORD_SPLIT.split(key):
        upper = word.upper()
        if upper in _SECRET_WORDS or upper.endswith(_SECRET_WORD_ENDINGS):
            return True
    return False


def mask_value(key: str, value: str) -> str:
    """Mask ``value`` entirely when ``key`` names a secret, else mask what looks secret inside it."""
    if is_secret_key(key):
        return MASK
    return mask_text(value)
