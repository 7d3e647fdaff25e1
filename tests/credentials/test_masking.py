"""Captured output with known secret values, as they are and as commands re-encode them."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from opsconductor.credentials.masking import Masker, mask
from opsconductor.credentials.models import CredentialKind, Secret, secret_values

PASSWORD = "p@ss w0rd!+x"


def test_plain_value_is_masked_everywhere() -> None:
    text = f"login {PASSWORD} ok\nagain:{PASSWORD}"
    assert mask(text, [PASSWORD]) == "login *** ok\nagain:***"


def test_common_encodings_are_masked() -> None:
    encoded = [
        quote(PASSWORD, safe=""),
        json.dumps(PASSWORD),
        base64.b64encode((PASSWORD + "\n").encode()).decode(),  # echo "$PASSWORD" | base64
    ]
    for shown in encoded:
        masked = mask(f"value={shown};", [PASSWORD])
        assert masked.startswith("value=") and "***" in masked
        assert shown not in masked
    leftover = mask(base64.b64encode(PASSWORD.encode()).decode(), [PASSWORD])
    assert len(leftover.replace("***", "")) <= 4  # at most the last partial group stays


def test_short_empty_and_special_values() -> None:
    assert mask("abc abc", ["abc", ""]) == "abc abc"  # too short to be told from words
    assert mask("a.b*c+d axb*c+d", ["a.b*c+d"]) == "*** axb*c+d"  # literal, not a pattern
    assert mask("nothing to hide", []) == "nothing to hide"


def test_longer_secret_wins_over_one_inside_it() -> None:
    assert mask("xx abcdefgh yy abcd", ["abcd", "abcdefgh"]) == "xx *** yy ***"


def test_private_key_lines_are_masked_even_when_rewrapped() -> None:
    body = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"
    key = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\n"
    secret = Secret(CredentialKind.PRIVATE_KEY, "root", private_key=key)
    masker = Masker(secret_values(secret))
    assert masker(f"cat id: {key}") == "cat id: ***"
    assert masker(f"one line: {body}") == "one line: ***"
    assert repr(masker) == "Masker(***)"
