"""The standard ``format`` checks, as JSON Schema's format-assertion vocabulary defines them.

Imported only by the model modules whose schemas use one of these formats. Pure Python, no dependency;
every check is linear in the length of the string (the regular expressions below have no ambiguous
repetition, and each runs anchored once). Each function takes a ``str`` and says whether it is valid;
the generated code calls it only on strings (a format does not constrain other types).

* ``date-time``, ``date``, ``time``: RFC 3339 (``T``/``Z`` in either case, a fraction of any length, a
  numeric offset ``±HH:MM``; a leap second ``:60`` only where the time is 23:59 in UTC).
* ``duration``: RFC 3339's ISO 8601 duration (``P1Y2M3DT4H5M6S``, ``P2W``; no fractions, no sign).
* ``email``: RFC 5321's mailbox: a dot-atom or quoted local part, and a host name or an address
  literal (``[127.0.0.1]``, ``[IPv6:::1]``).
* ``hostname``: RFC 1123 (letters, digits, hyphens; labels of 1 to 63, at most 253 in all, no final
  dot); an ``xn--`` label must decode as Punycode. The IDNA2008 tables (contextual rules, Bidi) are not
  checked: that needs Unicode data the standard library does not have.
* ``ipv4``: a dotted quad of decimal numbers 0-255 without leading zeros; ``ipv6``: RFC 4291's text
  forms (``::`` once, a final dotted quad), no zone and no prefix.
* ``uri``: an absolute URI, ``uri-reference``: a URI or a relative reference (RFC 3986: characters,
  percent-encoding, authority, port, IP literals).
* ``uuid``: RFC 4122's 8-4-4-4-12 hexadecimal form (any version, either case).
* ``regex``: a pattern Python's ``re`` compiles (the generator's own reading of ``pattern``).
"""

from __future__ import annotations

import re

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))")
_DURATION = re.compile(
    r"P(?:(?:[0-9]+D|[0-9]+M(?:[0-9]+D)?|[0-9]+Y(?:[0-9]+M(?:[0-9]+D)?)?)(?:T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?"
    r"|[0-9]+M(?:[0-9]+S)?|[0-9]+S))?|T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S)|[0-9]+W)"
)
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_HEX16 = re.compile(r"[0-9A-Fa-f]{1,4}")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_QUOTED = re.compile(r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"')
# RFC 3986, Appendix B: the five components of any string (it always matches).
_PARTS = re.compile(r"(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?", re.DOTALL)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_PCT = r"%[0-9A-Fa-f]{2}"
_UNRESERVED_SUB = r"A-Za-z0-9\-._~!$&'()*+,;="
_PATH = re.compile(rf"(?:[{_UNRESERVED_SUB}:@/]|{_PCT})*")
_QUERY = re.compile(rf"(?:[{_UNRESERVED_SUB}:@/?]|{_PCT})*")
_USERINFO = re.compile(rf"(?:[{_UNRESERVED_SUB}:]|{_PCT})*")
_REG_NAME = re.compile(rf"(?:[{_UNRESERVED_SUB}]|{_PCT})*")
_IPVFUTURE = re.compile(rf"[vV][0-9A-Fa-f]+\.[{_UNRESERVED_SUB}:]+")
_PORT = re.compile(r"[0-9]*")

_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


# --- dates and times -------------------------------------------------------------------------------


def is_date(value: str) -> bool:
    match = _DATE.fullmatch(value)
    if match is None:
        return False
    year, month, day = (int(group) for group in match.groups())
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS[month - 1]:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return not (month == 2 and day == 29 and not leap)


def is_time(value: str) -> bool:
    match = _TIME.fullmatch(value)
    if match is None:
        return False
    hour, minute, second = int(match[1]), int(match[2]), int(match[3])
    sign, offset_hour, offset_minute = match[4], int(match[5] or 0), int(match[6] or 0)
    if hour > 23 or minute > 59 or second > 60 or offset_hour > 23 or offset_minute > 59:
        return False
    if second == 60:  # a leap second is 23:59:60 UTC
        shift = (offset_hour * 60 + offset_minute) * (-1 if sign == "-" else 1)
        return (hour * 60 + minute - shift) % 1440 == 23 * 60 + 59
    return True


def is_date_time(value: str) -> bool:
    date, separator, time = value[:10], value[10:11], value[11:]
    return separator in ("T", "t") and is_date(date) and is_time(time)


def is_duration(value: str) -> bool:
    return _DURATION.fullmatch(value) is not None


# --- internet names and addresses ------------------------------------------------------------------


def is_ipv4(value: str) -> bool:
    return _IPV4.fullmatch(value) is not None


def is_ipv6(value: str) -> bool:
    if not value.isascii() or value.count("::") > 1:
        return False
    head, double, tail = value.partition("::")
    groups = [*(head.split(":") if head else []), *(tail.split(":") if tail else [])]
    if not double and not head:
        return False
    words = len(groups)
    if groups and "." in groups[-1]:  # a final dotted quad is two words
        if not is_ipv4(groups.pop()):
            return False
        words += 1
    if not all(_HEX16.fullmatch(group) for group in groups):
        return False
    return words < 8 if double else words == 8


def _is_punycode_label(label: str) -> bool:
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return False
    return bool(decoded) and not decoded.isascii() and decoded.encode("punycode").decode("ascii") == label[4:]


def is_hostname(value: str) -> bool:
    if not value.isascii() or not 0 < len(value) <= 253:
        return False
    for label in value.split("."):
        if _LABEL.fullmatch(label) is None:
            return False
        if label[2:4] == "--" and not (label[:4] == "xn--" and _is_punycode_label(label)):
            return False
    return True


def is_email(value: str) -> bool:
    if value.startswith('"'):
        match = _QUOTED.match(value)
        if match is None or value[match.end() : match.end() + 1] != "@":
            return False
        domain = value[match.end() + 1 :]
    else:
        local, at, domain = value.partition("@")
        if not at or _ATOM.fullmatch(local) is None:
            return False
    if domain.startswith("[") and domain.endswith("]"):
        literal = domain[1:-1]
        return is_ipv6(literal[5:]) if literal[:5].lower() == "ipv6:" else is_ipv4(literal)
    return is_hostname(domain)


# --- URIs ------------------------------------------------------------------------------------------


def _is_authority(authority: str) -> bool:
    userinfo, at, host = authority.partition("@")
    if not at:
        userinfo, host = "", authority
    if _USERINFO.fullmatch(userinfo) is None:
        return False
    if host.startswith("["):
        literal, bracket, port = host[1:].partition("]")
        if not bracket or not (is_ipv6(literal) or _IPVFUTURE.fullmatch(literal) is not None):
            return False
        return port == "" or (port[0] == ":" and _PORT.fullmatch(port[1:]) is not None)
    name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
    return _REG_NAME.fullmatch(name) is not None and _PORT.fullmatch(port) is not None


def is_uri_reference(value: str, *, absolute: bool = False) -> bool:
    match = _PARTS.fullmatch(value)
    if match is None:  # pragma: no cover - the pattern matches every string
        return False
    scheme, authority, path, query, fragment = match.groups()
    if scheme is None:
        if absolute or ":" in path.partition("/")[0]:  # a relative path's first segment has no ':'
            return False
    elif _SCHEME.fullmatch(scheme) is None:
        return False
    if authority is not None and not _is_authority(authority):
        return False
    return all(
        part is None or pattern.fullmatch(part) is not None
        for part, pattern in ((path, _PATH), (query, _QUERY), (fragment, _QUERY))
    )


def is_uri(value: str) -> bool:
    return is_uri_reference(value, absolute=True)


# --- the rest --------------------------------------------------------------------------------------


def is_uuid(value: str) -> bool:
    return _UUID.fullmatch(value) is not None


def is_regex(value: str) -> bool:
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError):
        return False
    return True
