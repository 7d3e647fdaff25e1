"""The streaming masker: a secret split anywhere across pieces of a stream is masked whole, and
the pieces it gives out, joined, are the whole text masked."""

from __future__ import annotations

import base64
import codecs
import textwrap

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from opsconductor.credentials.masking import MASK, Masker, StreamMasker
from opsconductor.credentials.models import CredentialKind, Secret

SHORT = "hunter2x"
LONG = "correct-horse-battery-staple-9000"
PREFIXED = "hunter2xyz-longer"  # begins with SHORT: a prefix of one secret is another secret
TAILING = "staple-9000-again"  # begins where LONG ends: the two overlap in "staple-9000"


def streamed(masker: Masker, pieces: list[str]) -> list[str]:
    stream = masker.stream()
    return [*(stream.feed(piece) for piece in pieces), stream.flush()]


def every_split(text: str) -> list[list[str]]:
    return [[text[:i], text[i:]] for i in range(len(text) + 1)]


def test_a_secret_split_at_every_position_is_never_given_out() -> None:
    masker = Masker([SHORT, LONG])
    text = f"login ok; token={LONG} user pw {SHORT}\n"
    for pieces in every_split(text):
        out = streamed(masker, pieces)
        assert "".join(out) == masker(text) == f"login ok; token={MASK} user pw {MASK}\n"
        for chunk in out:
            assert LONG not in chunk and SHORT not in chunk
            assert not any(part in chunk for part in (LONG[:6], LONG[-6:], SHORT[:4], SHORT[-4:]))


def test_three_pieces_at_every_pair_of_positions() -> None:
    masker = Masker([SHORT, LONG, PREFIXED, TAILING])
    text = f"a{SHORT} {PREFIXED}|{LONG[:-11]}{TAILING}.{SHORT}{SHORT}"
    whole = masker(text)
    assert whole == f"a{MASK} {MASK}|{MASK}.{MASK}{MASK}"  # overlapping secrets: one mask
    for i in range(len(text) + 1):
        for j in range(i, len(text) + 1):
            assert "".join(streamed(masker, [text[:i], text[i:j], text[j:]])) == whole


def test_one_character_at_a_time_and_the_tail_held_back() -> None:
    masker = Masker([LONG, SHORT])
    text = f"x {LONG} y {SHORT[:5]}"  # ends with the beginning of a secret, never completed
    stream = masker.stream()
    given = [stream.feed(c) for c in text]
    assert "".join(given) == "x *** y "  # "hunte" could still become a secret: held back
    assert stream.flush() == SHORT[:5]  # the stream ended: it was not one
    assert "".join(given) + SHORT[:5] == masker(text)


def test_only_a_possible_start_of_a_secret_is_held_back() -> None:
    stream = Masker([LONG]).stream()
    assert stream.feed("ordinary line of output\n") == "ordinary line of output\n"
    assert stream.feed("then correct-hor") == "then "
    assert stream.feed("se battery") == "correct-horse battery"  # not the secret after all
    assert stream.flush() == ""


def test_no_secrets_means_nothing_held_back() -> None:
    stream = Masker([]).stream()
    assert stream.feed("abc") == "abc" and stream.flush() == ""


def test_utf8_split_inside_a_character_and_a_secret() -> None:
    secret = "pässwörd-ünïcode"
    masker = Masker([secret])
    data = f"→ {secret} ✓ done\n".encode()
    for i in range(len(data) + 1):
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stream = masker.stream()
        out = [stream.feed(decoder.decode(data[:i])), stream.feed(decoder.decode(data[i:]))]
        out += [stream.feed(decoder.decode(b"", final=True)), stream.flush()]
        assert "".join(out) == "→ *** ✓ done\n"
        assert "\ufffd" not in "".join(out)


def rsa_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def key_body(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def test_a_key_rewrapped_at_any_width_is_masked_whole_and_streamed() -> None:
    pem = rsa_key()
    masker = Masker.of([Secret(CredentialKind.PRIVATE_KEY, "root", private_key=pem)])
    body = key_body(pem)
    for width in (64, 76, 50):
        text = "key:\n" + "\n".join(textwrap.wrap(body, width)) + "\nend\n"
        masked = masker(text)
        assert masked.splitlines()[1:-1] == [MASK] * len(textwrap.wrap(body, width))
        for i in range(0, len(text), 97):
            assert "".join(streamed(masker, [text[:i], text[i:]])) == masked
    piece = body[100:140]
    assert masker(f"quoted: '{piece}'") == f"quoted: '{MASK}'"
    assert masker(f"one line: {body}") == f"one line: {MASK}"


def test_base64_runs_that_are_not_the_key_stay() -> None:
    pem = rsa_key()
    masker = Masker.of([Secret(CredentialKind.PRIVATE_KEY, "root", private_key=pem)])
    other = base64.b64encode(b"nothing secret in this text at all").decode()
    hashes = "sha256 " + "ab" * 32
    text = f"{other}\n{hashes}\n/usr/local/bin/python3\n"
    assert masker(text) == text
    for pieces in every_split(text):
        assert "".join(streamed(masker, pieces)) == text


def test_a_long_base64_line_that_only_ends_in_key_material_is_not_masked_differently() -> None:
    """The stream cuts inside a long base64 run only once it cannot be a key's: the rest of
    that run is not mistaken for a run of its own."""
    pem = rsa_key()
    masker = Masker.of([Secret(CredentialKind.PRIVATE_KEY, "root", private_key=pem)])
    body = key_body(pem)
    text = "Zz" * 40 + body[200:240] + "\nnext " + body[300:340] + "\n"
    whole = masker(text)
    assert whole.endswith(f"next {MASK}\n") and body[200:216] in whole
    pieces = [text[i : i + 7] for i in range(0, len(text), 7)]
    assert "".join(streamed(masker, pieces)) == whole


def test_password_base64_at_any_alignment() -> None:
    masker = Masker.of([Secret(CredentialKind.PASSWORD, "deploy", password=LONG)])
    for prefix in ("", "u:", "ops:", "deploy:"):
        basic = base64.b64encode(f"{prefix}{LONG}".encode()).decode()
        masked = masker(f"Authorization: Basic {basic}")
        assert masked.startswith("Authorization: Basic ") and MASK in masked
        # What stays: the groups that hold the prefix, and at most a partial group at the end.
        kept = masked.replace(MASK, "").removeprefix("Authorization: Basic ")
        assert len(kept) <= 4 * (len(prefix) // 3 + 1) + 4
        assert "".join(streamed(masker, [f"Basic {basic[:9]}", basic[9:]])) == masker(
            f"Basic {basic}"
        )


def test_reprs_show_no_secret() -> None:
    masker = Masker([LONG])
    assert LONG not in repr(masker) and LONG not in repr(masker.stream())
    assert isinstance(masker.stream(), StreamMasker)
