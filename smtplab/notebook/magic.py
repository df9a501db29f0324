"""IPython front end: ``%load_ext smtplab``, a ``%%smtp`` cell of raw commands, and two look-up magics.

::

    %load_ext smtplab

    %%smtp --vrfy confirm --out session
    EHLO learner.example
    VRFY alice
    VRFY nobody

    %smtp_explain 252
    %smtp_compare 250 252 --lang vi

``%%smtp`` runs every cell on a **fresh lab**: a new :class:`~smtplab.lab.lab.Lab`
with the cell's policy flags, started for the cell and closed at its end. So
a cell never depends on the cells run before it (re-running one gives the
same transcript, which is what a notebook run by nbval needs), and a policy
flag lasts exactly one cell. Starting a lab takes a few hundredths of a
second. The price is that the cell's lab and its mailbox are gone once the
cell has run; ``--lab NAME`` sends the commands on a lab of the learner's
instead (``lab = Lab()`` in an earlier cell), whose session, transcript and
mailbox carry on from cell to cell. ``--server HOST:PORT`` sends them to a
class server (``smtplab serve``) instead, as the learner ``--learner NAME``
(default: the ``SMTPLAB_LEARNER`` environment variable, else on a JupyterHub
the hub user, ``$JUPYTERHUB_USER``, else the login name, TLJH's ``jupyter-NAME``
as ``NAME``): a fresh connection per cell, every EHLO naming the learner; policy flags are refused
there (the class server's
policy is the teacher's).

The cell body: one SMTP command per line; blank lines and lines starting
with ``#`` are skipped. After a ``DATA`` line, the lines up to a line
holding a single ``.`` are the message, sent only if the server answers 354
(otherwise the transcript gets a note saying so); write them as they travel
on the wire, so a line that starts with ``..`` loses one dot.

The result is the cell's transcript (:class:`~smtplab.core.transcript.Transcript`):
shown with its ladder diagram and the explanation of every reply, and stored
in the user's namespace under ``--out NAME``.

Every policy setting is a flag: ``--vrfy confirm``, ``--auth required``,
``--users alice,bob``, ``--storage-full yes``, ``--lists "{'staff': ['alice']}"``
(see :mod:`smtplab.server.policy` for what each one does). A mistake in the magic
line (an unknown flag, a value a setting cannot take, an unknown code or
language) raises :class:`IPython.core.error.UsageError`, which IPython shows
as one friendly line with no traceback.

Like every front end, this module holds no protocol rule: it parses the
magic's line and body, then calls :class:`~smtplab.lab.lab.Lab`,
:func:`~smtplab.core.explanation.explain` and :func:`~smtplab.core.comparison.compare`.

Over 400 lines on purpose: one job (the IPython front end), whose length is
the ``%%smtp`` line's parser (every lab policy setting is an option) and the
magics' docstrings, which IPython shows as their help (``%%smtp?``).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from smtplab.core.catalogue import LANGUAGES, catalogue, check_language
from smtplab.core.transcript import Exchange, Transcript
from smtplab.errors import SMTPLabError, suggest
from smtplab.server.policy import Policy
from smtplab.server.settings import SETTINGS, Setting

__all__ = ["SMTPMagics", "Step", "load_ipython_extension", "parse_cell", "unload_ipython_extension"]

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_LANG_FLAG = re.compile(r"--lang(?:=|\s+)(\S+)")


def _text(lang: str, key: str, **values: object) -> str:
    """``[magic_error] key`` of ui.toml, in ``lang``, filled with ``values``."""
    return catalogue(lang).ui(f"magic_error.{key}", **values)


def _usage(lang: str, key: str, **values: object) -> UsageError:
    """A UsageError worded by ``[magic_error] key``, in ``lang``."""
    return UsageError(_text(lang, key, **values))


def _line_language(line: str) -> str:
    """The language a magic line asks for with ``--lang``, read before parsing (so parse errors speak it too)."""
    found = _LANG_FLAG.search(line)
    lang = found.group(1).strip("'\"") if found else "en"
    return lang if lang in LANGUAGES else "en"


# -- the cell body --------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One command line of a ``%%smtp`` cell and, after ``DATA``, the message that follows it."""

    command: str
    message: str | None = None
    line: int = 0  # where the command is in the cell, counting from 1


def parse_cell(body: str, lang: str = "en") -> list[Step]:
    """The steps of a ``%%smtp`` cell body; :class:`UsageError` (in ``lang``) for a message with no final ``.``.

    >>> parse_cell("EHLO a.example\\nDATA\\nSubject: hi\\n\\n..dots\\n.\\nQUIT")
    [Step(command='EHLO a.example', message=None, line=1), \
Step(command='DATA', message='Subject: hi\\n\\n.dots\\n', line=2), Step(command='QUIT', message=None, line=7)]
    """
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    steps: list[Step] = []
    index = 0
    while index < len(lines):
        command = lines[index].strip()
        number = index + 1
        index += 1
        if not command or command.startswith("#"):
            continue
        if command.split()[0].upper() != "DATA" or not any(line.strip() for line in lines[index:]):
            steps.append(Step(command, None, number))
            continue
        message: list[str] = []
        while index < len(lines) and lines[index].rstrip() != ".":
            line = lines[index]
            message.append(line[1:] if line.startswith("..") else line)
            index += 1
        if index == len(lines):
            raise _usage(lang, "no_end", number=number)
        index += 1  # the lone dot
        steps.append(Step(command, "".join(line + "\n" for line in message), number))
    if not steps:
        raise _usage(lang, "no_commands")
    return steps


# -- the magic line -------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (in ``lang``) instead of printing to stderr and exiting."""

    lang = "en"

    def error(self, message: str) -> Any:
        raise _usage(self.lang, "bad_arguments", prog=self.prog, message=message)

    def exit(self, status: int = 0, message: str | None = None) -> Any:  # pragma: no cover - no action exits
        raise UsageError(message or f"{self.prog}: bad arguments")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _cell_parser() -> _Parser:
    parser = _Parser(
        prog="%%smtp",
        add_help=False,
        allow_abbrev=False,
        description="Send the cell's SMTP commands to a fresh lab and show the explained transcript.",
    )
    parser.add_argument("-h", "--help", action="store_true", help="show this help and send nothing")
    parser.add_argument("--lang", help=f"language of the explanations: {', '.join(LANGUAGES)} (default en)")
    parser.add_argument("--out", metavar="NAME", help="also store the transcript in the variable NAME")
    parser.add_argument(
        "--lab", metavar="NAME", help="send on the lab held in the variable NAME instead of a fresh one"
    )
    parser.add_argument("--server", metavar="HOST:PORT", help="send to the class server at HOST:PORT (smtplab serve)")
    parser.add_argument(
        "--learner",
        metavar="NAME",
        help="with --server: your name on the class server "
        "(default: $SMTPLAB_LEARNER, else $JUPYTERHUB_USER, else your login name)",
    )
    policy = parser.add_argument_group("policy of the fresh lab (one flag per setting; see smtplab.server.policy)")
    for name, setting in SETTINGS.items():
        policy.add_argument(
            _flag(name), dest=f"policy:{name}", metavar="VALUE", default=argparse.SUPPRESS, help=setting.describe
        )
    return parser


def _line_parser(prog: str, codes_help: str) -> _Parser:
    parser = _Parser(prog=prog, add_help=False, allow_abbrev=False)
    parser.add_argument("codes", nargs="*", help=codes_help)
    parser.add_argument("--lang", default="en", help=f"{', '.join(LANGUAGES)} (default en)")
    return parser


def _split(line: str, prog: str, lang: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise _usage(lang, "cannot_read", prog=prog, reason=exc) from None


def _parse(parser: _Parser, line: str) -> argparse.Namespace:
    parser.lang = _line_language(line)
    args, extra = parser.parse_known_args(_split(line, parser.prog, parser.lang))
    if extra:
        raise _unknown(parser, extra[0])
    return args


def _unknown(parser: _Parser, token: str) -> UsageError:
    lang, prog = parser.lang, parser.prog
    flags = [s for action in parser._actions for s in action.option_strings if s.startswith("--")]
    if not token.startswith("-"):
        if prog == "%%smtp":
            return _usage(lang, "only_flags", token=repr(token))
        return _usage(lang, "unexpected", prog=prog, token=repr(token))
    phrase = _text(lang, "did_you_mean")
    hint = suggest(token.split("=")[0], flags, cutoff=0.6, quote=False, phrase=phrase)
    return _usage(lang, "no_flag", prog=prog, token=token, hint=hint, flags=", ".join(flags))


def _language(lang: str | None, prog: str) -> str:
    try:
        return check_language(lang or "en")
    except SMTPLabError as exc:
        raise _usage("en", "lang", prog=prog, reason=exc) from None


def _setting_value(setting: Setting[Any, Any], text: str, lang: str) -> Any:
    """The flag's text as the kind of value the setting holds; the policy then checks it."""
    default = setting.default
    if isinstance(default, bool):
        word = text.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else text
    if isinstance(default, (int, float)):
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text
    if isinstance(default, (tuple, Mapping)):
        stripped = text.strip()
        if stripped[:1] in ("[", "(", "{"):
            try:
                return ast.literal_eval(stripped)
            except (ValueError, SyntaxError):
                flag = _flag(setting.name)
                raise _usage(lang, "not_literal", flag=flag, text=repr(text), example=_example(default)) from None
        if isinstance(default, tuple):
            return [part.strip() for part in stripped.split(",") if part.strip()]
    return text


def _example(default: Any) -> str:
    def plain(value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    if isinstance(default, Mapping):
        return repr({key: plain(value) for key, value in default.items()})
    return repr(plain(default))


def _policy(args: argparse.Namespace, lang: str) -> dict[str, Any]:
    """The policy flags given, as checked settings; UsageError names the flag and the valid values."""
    settings: dict[str, Any] = {}
    for key, text in vars(args).items():
        if not key.startswith("policy:"):
            continue
        setting = SETTINGS[key.split(":", 1)[1]]
        value = _setting_value(setting, text, lang)
        try:
            Policy(lang=lang, **{setting.name: value})
        except SMTPLabError as exc:
            raise _usage(lang, "setting", flag=_flag(setting.name), text=text, reason=exc) from None
        settings[setting.name] = value
    return settings


def _identifier(name: str, flag: str, lang: str) -> str:
    if not name.isidentifier():
        raise _usage(lang, "identifier", flag=flag, name=repr(name))
    return name


# -- the magics -----------------------------------------------------------------


@magics_class
class SMTPMagics(Magics):
    """``%%smtp``, ``%smtp_explain`` and ``%smtp_compare``; see :mod:`smtplab.notebook.magic`."""

    @cell_magic
    def smtp(self, line: str, cell: str) -> Transcript | None:
        """Send the cell's SMTP commands to a fresh lab and show the transcript, every reply explained.

        %%smtp [--lang en|vi] [--out NAME] [--lab NAME | --server HOST:PORT [--learner NAME]] [--<setting> VALUE ...]

        One command per line; after DATA, the message up to a line holding a
        single '.'. Every lab policy setting is a flag (--vrfy confirm,
        --auth required, --users alice,bob ...), listed below.
        --out NAME also stores the transcript in NAME; --lab NAME sends on
        the Lab in NAME (its session, transcript and mailbox carry on);
        --server HOST:PORT sends to a class server as --learner NAME.
        """
        parser = _cell_parser()
        args = _parse(parser, line)
        if args.help:
            print(parser.format_help())
            return None
        lang = parser.lang  # the --lang asked for, if a valid one: what the messages speak
        policy = _policy(args, lang)
        out = _identifier(args.out, "--out", lang) if args.out else None
        steps = parse_cell(cell, lang)
        if args.lab and args.server:
            raise _usage(lang, "lab_and_server")
        if args.learner is not None and not args.server:
            raise _usage(lang, "learner_needs_server")
        if args.lab:
            transcript = self._on_lab(args, policy, steps, lang)
        elif args.server:
            transcript = _on_class_server(args, policy, steps, lang)
        else:
            from smtplab.lab.lab import Lab

            with Lab(_language(args.lang, "%%smtp"), **policy) as lab:
                _run(lab, steps)
                transcript = lab.transcript.copy()
        if out:
            assert self.shell is not None  # a magic runs in a shell
            self.shell.user_ns[out] = transcript
        return transcript

    def _on_lab(self, args: argparse.Namespace, policy: dict[str, Any], steps: list[Step], lang: str) -> Transcript:
        from smtplab.lab.lab import Lab

        name = _identifier(args.lab, "--lab", lang)
        assert self.shell is not None  # a magic runs in a shell
        lab = self.shell.user_ns.get(name)
        if not isinstance(lab, Lab):
            found = _text(lang, "found_nothing") if lab is None else _text(lang, "found_type", kind=type(lab).__name__)
            raise _usage(lang, "not_a_lab", name=name, found=found)
        lang = lab.lang  # from here on, the lab's own language
        if policy:
            first = next(iter(policy))
            raise _usage(lang, "lab_policy", name=name, setting=first, flag=_flag(first))
        if args.lang:
            raise _usage(lang, "lab_lang", language=repr(lab.lang))
        if lab.closed:
            raise _usage(lang, "lab_closed", name=name)
        start = len(lab.transcript)
        _run(lab, steps)
        return lab.transcript[start:]  # type: ignore[return-value]

    @line_magic
    def smtp_explain(self, line: str) -> Any:
        """Explain a reply code, an enhanced status code or a reply line.

        %smtp_explain 252
        %smtp_explain 5.1.1 --lang vi
        %smtp_explain 550 5.1.1 User unknown
        """
        from smtplab.core.explanation import explain

        args = _parse(_line_parser("%smtp_explain", "a code such as 252 or 5.1.1, or a reply line"), line)
        lang = _language(args.lang, "%smtp_explain")
        if not args.codes:
            raise _usage(lang, "explain_needs")
        try:
            return explain(" ".join(args.codes), lang=lang)
        except SMTPLabError as exc:
            raise _usage(lang, "explain_failed", reason=exc) from None

    @line_magic
    def smtp_compare(self, line: str) -> Any:
        """Compare two reply codes side by side.

        %smtp_compare 250 252
        %smtp_compare 450 550 --lang vi
        """
        from smtplab.core.comparison import compare

        args = _parse(_line_parser("%smtp_compare", "two reply codes such as 250 252"), line)
        lang = _language(args.lang, "%smtp_compare")
        if len(args.codes) != 2:
            codes = f": {' '.join(args.codes)}" if args.codes else ""
            raise _usage(lang, "compare_needs", count=len(args.codes), codes=codes)
        try:
            return compare(args.codes[0], args.codes[1], lang=lang)
        except SMTPLabError as exc:
            raise _usage(lang, "compare_failed", reason=exc) from None


def _default_learner() -> str:
    """The learner's name when ``--learner`` is not given: $SMTPLAB_LEARNER, the JupyterHub user, or the login name."""
    from smtplab.lab.class_server import default_learner

    return default_learner() or ""


def _on_class_server(args: argparse.Namespace, policy: dict[str, Any], steps: list[Step], lang: str) -> Transcript:
    """The cell on a class server, as ``--learner`` (or the default learner), on a fresh connection."""
    from smtplab.lab.lab import Lab

    if policy:
        first = next(iter(policy))
        raise _usage(lang, "server_policy", flag=_flag(first))
    learner = args.learner if args.learner is not None else _default_learner()
    if not learner:
        raise _usage(lang, "server_learner")
    try:
        lab = Lab(_language(args.lang, "%%smtp"), server=args.server, learner=learner)
    except SMTPLabError as exc:
        raise _usage(lang, "server_failed", reason=exc) from None
    with lab:
        _run(lab, steps)
        if lab.transcript.last_reply is None or lab.transcript.last_reply.code != 221:
            lab.send("QUIT")  # end the session politely, so the server logs it now
        return lab.transcript.copy()


def _run(lab: Any, steps: list[Step]) -> None:
    """Send the steps on ``lab``; a message goes only after a 354, as a real client would do."""
    for step in steps:
        reply = lab.send(step.command)
        if step.message is None:
            continue
        if reply is not None and reply.code == 354:
            lab.send(step.message)
        else:
            ui = catalogue(lab.lang).ui
            answer = f"{reply.code}" if reply is not None else ui("magic.no_reply")
            lab.transcript.append(Exchange(None, None, ui("magic.data_not_sent", answer=answer)))


# `%%smtp?` shows every flag: the parser's help, generated from the policy settings.
SMTPMagics.smtp.__doc__ = inspect.cleandoc(SMTPMagics.smtp.__doc__ or "") + "\n\n" + _cell_parser().format_help()


# -- the extension --------------------------------------------------------------

_NAMES = {"cell": ("smtp",), "line": ("smtp_explain", "smtp_compare")}


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext smtplab``: register the magics (loading twice is harmless)."""
    ipython.register_magics(SMTPMagics)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext smtplab``: remove the magics again."""
    manager = ipython.magics_manager
    for kind, names in _NAMES.items():
        for name in names:
            manager.magics[kind].pop(name, None)
    manager.registry.pop(SMTPMagics.__name__, None)
