"""How people say the order of several actions, rewritten into the one form the clause reader
splits on ("X and Y", "X then Y"): 'also', 'plus' and 'as well as' join clauses like 'and';
'restart nginx after checking its status' checks first; 'reboot app-01 first and then
app-02' repeats the verb for the host after 'then', so the two run one after the other instead
of as one step on both. A pause ('wait 5 minutes') is no step of ours, and is found here so it
can be named back rather than dropped."""

from __future__ import annotations

import re
from collections.abc import Callable

# ", also restart nginx", "… plus memory", "… as well as memory on db-01": another clause.
_LIKE_AND = re.compile(
    r"(?<=\S)\s*(?:,\s*)?(?:\band\s+also\b|\balso\b|\bplus\b|\bas\s+well\s+as\b|&)\s+",
    re.IGNORECASE,
)
# "restart nginx on web-01 after checking its status": the gerund's action comes first.
_AFTER_DOING = re.compile(
    r"^(?P<order>.+?)\s*,?\s+(?:but\s+)?(?:only\s+)?after\s+(?P<gerund>[a-z]+ing)\s+(?P<rest>.+)$",
    re.IGNORECASE,
)
# "reboot app-01 first and then app-02": 'then' before no verb takes the first clause's verb.
_THEN = re.compile(r"\s*(?:,\s*)?\b(?:and\s+then|then|and\s+after\s+that|after\s+that)\s+", re.I)
# The order up to where it runs: 'deploy billing-api 2.3.1 to' of '… to app-01'.
_WHERE = re.compile(r"^(?P<order>.+\b(?:on|to|at|for|from))\s+\S.*$", re.IGNORECASE)
_FIRST = re.compile(r"\s+(?:first|firstly)\b", re.IGNORECASE)
# "wait 5 minutes", "pause for 30s", "wait until nginx is down": a pause before an action.
PAUSE = re.compile(
    r"\b(?:wait|pause|sleep|hold\s+on)\b(?:\s+for)?\s+(?:about\s+)?"
    r"(?:\d+\s*[a-z]*|an?\s+(?:few\s+)?(?:seconds?|minutes?|hours?|while|bit))"
    r"|\bwait\s+(?:for|until|till)\b"  # "wait for nginx to stop": an event, not an order
    # "reboot web-01 tomorrow", "restart nginx later": a time to act, which is not now.
    r"|\b(?:tomorrow|tonight|later|overnight|next\s+(?:week|month|monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday)|this\s+(?:evening|afternoon|weekend)|after\s+hours"
    r"|at\s+(?:midnight|noon|\d{1,2}(?::\d{2}\s*(?:am|pm)?|\s*(?:am|pm)|\s*o'?clock))"
    r"|in\s+\d+\s+(?:minutes?|hours?|mins?))\b",
    re.IGNORECASE,
)


# "I need nginx restarted on web-02": the order, said through what is needed.
_NEEDED = re.compile(
    r"^(?:i|we)\s+(?:need|want|would\s+like)\s+(?P<what>.+?)\s+"
    r"(?P<verb>restart|reboot|stopp|start|deploy|kill)(?:ed)\b(?P<rest>.*)$",
    re.IGNORECASE,
)


def as_an_order(text: str) -> str:
    """'I need nginx restarted on web-02' as 'restart nginx on web-02'; past forms are
    otherwise reports ('I already restarted nginx'), never orders."""
    match = _NEEDED.match(text)
    if match is None:
        return text
    verb = match.group("verb").lower().replace("stopp", "stop")
    return f"{verb} {match.group('what')}{match.group('rest')}"


def with_plain_joiners(text: str) -> str:
    """'also', 'plus', 'as well as' and '&' between parts, as 'and'."""
    return _LIKE_AND.sub(" and ", text)


# "close port 5432 on db-01 but keep it open on pg-03": the hosts to keep are left out.
_KEPT_ELSEWHERE = re.compile(
    r"^(?P<order>.+?)\s*,?\s+(?:but|and)\s+(?:keep|leave)\s+(?:it|them|that|this)\s+"
    r"(?:[a-z]+\s+)?(?:on|for|at)\s+(?P<hosts>.+?)[\s.!?]*$",
    re.IGNORECASE,
)


def kept_elsewhere(text: str) -> str:
    """'X on A but keep it open on B' as 'X on A except B'."""
    match = _KEPT_ELSEWHERE.match(text)
    return text if match is None else f"{match.group('order')} except {match.group('hosts')}"


def checks_first(text: str, verbs: frozenset[str]) -> str:
    """'X after checking Y' as 'check Y, then X'; the text unchanged when the gerund is no
    order's verb ('after hours' is not a step)."""
    match = _AFTER_DOING.match(text)
    if match is None:
        return text
    verb = _verb_of(match.group("gerund").lower(), verbs)
    if verb is None:
        return text
    return f"{verb} {match.group('rest').strip()} then {match.group('order').strip()}"


def verb_repeated(text: str, verbs: frozenset[str], is_place: Callable[[str], bool]) -> str:
    """'reboot app-01 first and then app-02' as 'reboot app-01 then reboot app-02'; 'deploy
    billing-api 2.3.1 to app-01 and then app-02' as '… then deploy billing-api 2.3.1 to
    app-02'. A part after 'then' that is no place keeps only the verb ('… then memory')."""
    words = text.split()
    if not words or words[0].lower() not in verbs or not _THEN.search(text):
        return text
    parts = [_FIRST.sub("", part).strip() for part in _THEN.split(text)]
    rebuilt = [parts[0]]
    for part in parts[1:]:
        first = part.split()[0].lower() if part.split() else ""
        if first in verbs:
            rebuilt.append(part)
        elif is_place(part) and (where := _WHERE.match(parts[0])):
            rebuilt.append(f"{where.group('order')} {part}")
        else:
            rebuilt.append(f"{words[0]} {part}")
    return " then ".join(rebuilt)


def _verb_of(gerund: str, verbs: frozenset[str]) -> str | None:
    """'checking' → 'check', 'stopping' → 'stop', 'making' → 'make'; None for no verb."""
    stem = gerund[:-3]
    undoubled = stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else ""
    for candidate in (stem, undoubled, stem + "e"):
        if candidate and candidate in verbs:
            return candidate
    return None
