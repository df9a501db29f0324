"""Which known codes to suggest for a mistyped one, by the shape of what was typed. Pure.

A learner who types ``0252`` meant 252, not the code nearest in value to 25;
one who types ``259`` probably meant a 25x code. Codes one typing slip away
come first, then those sharing the most leading digits, then the nearest in value.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

__all__ = ["nearest_codes"]


def _one_slip(code: str, typed: str) -> bool:
    """True when ``typed`` is ``code`` with one character added, dropped, changed, or two swapped."""
    if typed == code:
        return False
    if len(typed) == len(code) + 1:
        return any(typed[:i] + typed[i + 1 :] == code for i in range(len(typed)))
    if len(typed) + 1 == len(code):
        return any(code[:i] + code[i + 1 :] == typed for i in range(len(code)))
    if len(typed) == len(code):
        diffs = [i for i in range(len(code)) if code[i] != typed[i]]
        return len(diffs) == 1 or (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and code[diffs[0]] == typed[diffs[1]]
            and code[diffs[1]] == typed[diffs[0]]
        )
    return False


def nearest_codes(codes: Sequence[int], text: str, n: int = 3) -> tuple[str, ...]:
    """The ``n`` codes of ``codes`` closest to ``text``: one slip away first, then by leading digits and value.

    >>> nearest_codes([211, 250, 251, 252, 253, 550], "0252")
    ('252', '251', '253')
    """
    digits = "".join(ch for ch in text if ch in "0123456789")
    if not digits:
        return ("250", "252", "550")[:n]
    slips = [c for c in codes if _one_slip(str(c), digits)] if len(digits) <= 4 else []
    head = digits[:3]
    value = slips[0] if slips and len(digits) != 3 else int(head.ljust(3, "0"))

    def rank(code: int) -> tuple[bool, int, int]:
        shared = 0
        for a, b in zip(str(code), head, strict=False):
            if a != b:
                break
            shared += 1
        return (code not in slips, -shared, abs(code - value))

    return tuple(str(c) for c in sorted(codes, key=rank)[:n])
