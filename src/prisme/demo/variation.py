"""How the same person ends up spelled differently in three systems: typos, phone formats,
e-mail case, and the data-quality defects planted on purpose (each recorded in the truth)."""

from __future__ import annotations

import unicodedata

import numpy as np

_KEYBOARD = {
    "a": "zqs", "b": "vn", "c": "xv", "d": "sf", "e": "rz", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "km", "m": "ln", "n": "bm", "o": "ip", "p": "ol",
    "q": "as", "r": "et", "s": "dq", "t": "ry", "u": "yi", "v": "cb", "w": "xq", "x": "wc",
    "y": "tu", "z": "ae",
}


def typo(word: str, rng: np.random.Generator) -> str:
    """One keyboard slip: a letter dropped, doubled, swapped with its neighbour or mistyped."""
    if len(word) < 3:
        return word + word[-1:]
    i = int(rng.integers(1, len(word) - 1))
    op = int(rng.integers(0, 4))
    if op == 0:
        return word[:i] + word[i + 1:]
    if op == 1:
        return word[:i] + word[i] + word[i:]
    if op == 2 and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    c = word[i].lower()
    near = _KEYBOARD.get(c)
    if not near:
        return word[:i] + word[i + 1:]
    r = near[int(rng.integers(0, len(near)))]
    return word[:i] + (r.upper() if word[i].isupper() else r) + word[i + 1:]


def fold_accents(values: np.ndarray) -> np.ndarray:
    """Names typed without accents (``Hélène`` → ``Helene``), case kept."""
    cache: dict[str, str] = {}
    out = values.copy()
    for i, v in enumerate(values):
        if v is not None:
            if v not in cache:
                s = unicodedata.normalize("NFKD", v.replace("œ", "oe").replace("Œ", "OE"))
                cache[v] = "".join(c for c in s if not unicodedata.combining(c))
            out[i] = cache[v]
    return out


def _uk_groups(national: str) -> list[str]:
    """A UK national number in its usual groups, trunk ``0`` off: London ``20 7123 4567``,
    other geographic ``161 123 4567``, mobile ``7700 900123``."""
    core = national[1:]
    if core.startswith("2"):
        return [core[:2], core[2:6], core[6:]]
    if core.startswith("1"):
        return [core[:3], core[3:6], core[6:]]
    return [core[:4], core[4:]]


def format_phone(national: str, uk: bool, style: str) -> str:
    """A national number (``0612345678`` / ``07912345678``) in one of the usual notations.

    Every notation keeps all the digits, so a valid number stays valid for phonenumbers (read
    with region FR, or GB for a UK number written nationally)."""
    if national is None:
        return None
    core = national[1:]
    cc = "44" if uk else "33"
    if uk and style in ("spaced", "dotted", "national"):
        style = "intl_spaced"  # a French system keeps a UK number with its country code
    if style == "spaced":
        return " ".join(national[i:i + 2] for i in range(0, 10, 2))
    if style == "dotted":
        return ".".join(national[i:i + 2] for i in range(0, 10, 2))
    if style == "e164":
        return f"+{cc}{core}"
    if style == "intl_spaced":
        if uk:
            return f"+{cc} " + " ".join(_uk_groups(national))
        return f"+{cc} {core[0]} " + " ".join(core[i:i + 2] for i in range(1, 9, 2))
    if style == "0033":
        return f"00{cc}{core}"
    return national


def format_phones(numbers: np.ndarray, uk: np.ndarray, rng: np.random.Generator,
                  styles: list[str], probs: list[float]) -> np.ndarray:
    pick = rng.choice(len(styles), size=len(numbers), p=probs)
    return np.array([format_phone(n, u, styles[k]) for n, u, k in
                     zip(numbers, uk, pick, strict=True)], dtype=object)


def invalid_email(email: str, rng: np.random.Generator) -> str:
    """A malformed address (``@@``, no ``@``, a space, no top-level domain): never one that
    still reads as ``name@domain.tld`` (``x@yahoo.co`` would)."""
    local, _, domain = email.partition("@")
    k = int(rng.integers(0, 4))
    if k == 0:
        return f"{local}@@{domain}"
    if k == 1:
        return f"{local}{domain}"
    if k == 2:
        return f"{local.replace('.', ' ', 1) if '.' in local else local + ' x'}@{domain}"
    return f"{local}@{domain.split('.', 1)[0]}"


def unparsable_phone(phone: str, rng: np.random.Generator) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    if rng.random() < 0.5:
        return " ".join(digits[i:i + 2] for i in range(0, 7, 2))
    return digits[:4] + " AB " + digits[4:6]


def bad_postcode(code: str, rng: np.random.Generator) -> str:
    if code[:1].isdigit():
        if code.startswith("0"):
            return code[1:]  # the leading zero a spreadsheet ate
        return code + str(int(rng.integers(0, 10)))
    return code.split(" ")[0][:-1] + "Q"
