"""A lab's demos: commands on a fresh connection to a throwaway server, and a code reproduced from its recipe.

:func:`run_demo` is the work of :meth:`~smtplab.lab.lab.Lab.demo`, and
:func:`reproduce` that of :meth:`~smtplab.lab.lab.Lab.reproduce`. The
throwaway server is of the lab's backend's kind (a socket, or an in-memory
pair; a class server's lab uses a private one), with a policy of its own: a
copy of the learner's (or, when ``fresh``, the default one) with the demo's
settings and rules added. The learner's live policy is never touched, so no
other connection to the lab (the lab's own session, swaks in a terminal, a
widget) sees the demo's settings, and there is nothing to restore; the
throwaway server's greylisting memory and temporary mailbox are gone with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from smtplab.core.catalogue import catalogue
from smtplab.core.transcript import Exchange, Transcript
from smtplab.errors import CatalogueError, NoRecipe
from smtplab.lab.backends.base import LabBackend, rule_arguments
from smtplab.server.policy import describe_rule

__all__ = ["reproduce", "run_demo"]


async def run_demo(
    backend: LabBackend,
    commands: Sequence[str],
    rules: Sequence[Any],
    settings: Mapping[str, Any],
    *,
    fresh: bool = False,
) -> Transcript:
    """Send ``commands`` to a throwaway server whose policy has ``settings`` and ``rules``; its transcript.

    The transcript begins with the backend's notes and a note of the settings and rules used.
    """
    lang = backend.lang
    policy = backend.demo_policy(fresh)
    policy.update(**settings)
    added = [policy.rule(**rule_arguments(rule)) for rule in rules]
    transcript = Transcript(lang=lang)
    for note in backend.demo_notes():
        transcript.append(Exchange(None, None, note))
    shown = [f"{k}={v!r}" for k, v in settings.items()] + [describe_rule(r, lang) for r in added]
    if shown:
        transcript.append(Exchange(None, None, catalogue(lang).ui("note.policy", settings=", ".join(shown))))
    await backend.run_demo(policy, commands, transcript)
    return transcript


async def reproduce(backend: LabBackend, code: int | str) -> Transcript:
    """The catalogue recipe of ``code`` run as a fresh demo; NoRecipe without one, CatalogueError if it misses."""
    entry = catalogue(backend.lang).basic(code)
    recipe = entry.lab
    if recipe is None:
        raise NoRecipe(
            catalogue(backend.lang).ui("lab_error.no_recipe", code=entry.code, title=entry.title), entry.code
        )
    transcript = await run_demo(backend, recipe.commands, recipe.rules, recipe.policy, fresh=True)
    last = transcript.last_reply
    if last is None or last.code != entry.code:
        raise CatalogueError(
            f"the lab recipe for {entry.code} ended with {last.code if last else 'no reply'}, "
            f"not {entry.code}; the catalogue's recipe needs fixing:\n{transcript}"
        )
    return transcript
