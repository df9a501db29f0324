"""The ``smtplab`` command: look codes up, compare them, list the catalogue, open the course.

A thin front end: it parses arguments, calls the core and prints what the
core renders. Every mistake a user can make ends in one line on stderr and
exit status 2, never a traceback.

Over 400 lines on purpose: it is one job (the command line), and most of its
length is argparse declarations, ``serve``'s 20 options with their help
texts above all, which read best beside the code that uses them.
"""

from __future__ import annotations

import argparse
import re
import sys

from smtplab import __version__
from smtplab.core.catalogue import LANGUAGES  # loaded by ``import smtplab`` already: a copy here saves nothing
from smtplab.errors import SMTPLabError

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence
    from typing import NoReturn

FORMATS = ("text", "markdown", "md", "html")  # md: markdown, for pasting into notes and issues
LIST_FORMATS = ("text", "markdown", "md", "json")


def _add_lang(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lang",
        type=str.lower,
        choices=LANGUAGES,
        default="en",
        help="language of the text, in any case (default: en)",
    )


def requested_language(argv: Sequence[str]) -> str:
    """The ``--lang`` given on the command line (any case), read before parsing so that usage errors use it too.

    English when there is none, or when it names a language the catalogue lacks.
    """
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
        else:
            continue
        return value.lower() if value.lower() in LANGUAGES else "en"
    return "en"


# argparse's own messages, and the ui.toml [error] key that says each one in the reader's language.
_ARGPARSE_MESSAGES = (
    (re.compile(r"the following arguments are required: (?P<names>.+)\Z"), "error.required"),
    (
        re.compile(r"argument (?P<option>\S+): invalid choice: '(?P<value>.*)' \(choose from (?P<choices>.+)\)\Z"),
        "error.invalid_choice",
    ),
    (re.compile(r"unrecognized arguments: (?P<names>.+)\Z"), "error.unrecognized"),
    (re.compile(r"argument (?P<option>\S+): expected one argument\Z"), "error.expected_one"),
)


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors speak the language given with ``--lang``."""

    lang = "en"

    def error(self, message: str) -> NoReturn:
        if self.lang != "en":
            from smtplab.core.catalogue import catalogue

            for pattern, key in _ARGPARSE_MESSAGES:
                match = pattern.match(message)
                if match:
                    message = catalogue(self.lang).ui(key, **match.groupdict())
                    break
            self.print_usage(sys.stderr)
            self.exit(2, catalogue(self.lang).ui("error.line", prog=self.prog, message=message) + "\n")
        super().error(message)


def _add_format(parser: argparse.ArgumentParser, formats: tuple[str, ...] = FORMATS) -> None:
    parser.add_argument(
        "--format",
        type=str.lower,
        choices=formats,
        default="text",
        help=f"output format: {', '.join(formats)} (md is markdown; default: text)",
    )


def _format(name: str) -> str:
    """The renderer's name for a ``--format`` value (``md`` is Markdown)."""
    return "markdown" if name == "md" else name


def build_parser(only: str | None = None, lang: str = "en") -> argparse.ArgumentParser:
    """The whole command line; with ``only``, just that subcommand (the others cost start-up and go unused).

    ``lang`` is the language of its usage errors.
    """
    parser = _Parser(
        prog="smtplab",
        description="Learn SMTP replies: explain and compare reply codes, list the catalogue, open the course.",
    )
    parser.add_argument("--version", action="version", version=f"smtplab {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for name, add in _SUBCOMMANDS.items():
        if only is None or only == name:
            add(commands)
    for sub in (parser, *commands.choices.values()):
        sub.lang = lang
    return parser


def _add_explain(commands: argparse._SubParsersAction) -> None:
    explain = commands.add_parser(
        "explain",
        help="explain a reply code, an enhanced status code or a whole reply line",
        description="Explain 252, 5.1.1, '550 5.1.1' or a whole reply line such as '252 2.1.5 Cannot VRFY user'.",
    )
    explain.add_argument("code", nargs="+", help="a code, an enhanced code, or a reply line (quote it)")
    _add_lang(explain)
    _add_format(explain)


def _add_compare(commands: argparse._SubParsersAction) -> None:
    compare = commands.add_parser("compare", help="compare two reply codes (or two enhanced codes) side by side")
    compare.add_argument("a", help="first reply code, e.g. 250 (or enhanced code, e.g. 5.1.1)")
    compare.add_argument("b", help="second reply code, e.g. 252 (or enhanced code, e.g. 5.1.2)")
    _add_lang(compare)
    _add_format(compare)


def _add_list(commands: argparse._SubParsersAction) -> None:
    listing = commands.add_parser("list", help="list every code in the catalogue")
    _add_lang(listing)
    _add_format(listing, LIST_FORMATS)
    listing.add_argument("--json", action="store_true", help="the same as --format json")
    listing.add_argument(
        "--kind",
        choices=("all", "basic", "enhanced"),
        default="all",
        help="three-digit codes, enhanced status codes, or both (default: all)",
    )


def _add_lab(commands: argparse._SubParsersAction) -> None:
    lab = commands.add_parser(
        "lab",
        help="copy the notebook course into a folder and open it in JupyterLab",
        description="Copy the notebook course into DIR and open it in JupyterLab. Run it again after an upgrade: "
        "notebooks you have not changed are updated, the ones you changed are kept.",
    )
    lab.add_argument(
        "dir",
        nargs="?",
        default="smtplab-course",
        metavar="DIR",
        help="folder for the course (default: ./smtplab-course)",
    )
    lab.add_argument("--no-browser", action="store_true", help="start JupyterLab without opening a browser")
    lab.add_argument(
        "--teacher", action="store_true", help="also copy the instructor guide (learners' copies leave it out)"
    )
    lab.add_argument(
        "--port", type=_port, metavar="N", help="port for JupyterLab (default: JupyterLab's own; 0: any free one)"
    )


def _add_site(commands: argparse._SubParsersAction) -> None:
    site = commands.add_parser(
        "site",
        help="build the course as a static site that runs in a browser, with nothing to install",
        description="Build the course (English and Vietnamese, the learner's copies) as a JupyterLite site in DIR: "
        "JupyterLab and Python (Pyodide) run in the browser, every file is local, and any static host (or "
        "python -m http.server) serves it. Needs npm and the site extra: pip install -e '.[site]'.",
    )
    site.add_argument("dir", metavar="DIR", help="folder for the site (new, empty, or an earlier site to replace)")
    site.add_argument("--wheel", metavar="FILE", help="smtplab's wheel (default: built from this checkout)")


def _site(folder: str, wheel: str | None) -> int:
    """Build the course's static site; the downloads stay in the user's cache for the next build."""
    from pathlib import Path

    import smtplab
    from smtplab.notebook import site

    checkout = Path(smtplab.__file__).resolve().parent.parent
    site.build_site(Path(folder), project=checkout, wheel=Path(wheel) if wheel else None, say=print)
    return 0


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected a number from 0 to 65535")
    return port


def _list_records(lang: str, kind: str) -> list[dict]:
    from smtplab.core.catalogue import catalogue

    cat = catalogue(lang)
    records: list[dict] = []
    if kind in ("all", "basic"):
        for e in cat.basic_codes():
            records.append(
                {
                    "code": str(e.code),
                    "kind": "basic",
                    "title": e.title,
                    "description": e.description,
                    "when": e.when,
                    "fix": e.fix,
                    "class": cat.reply_class_name(e.class_digit),
                    "category": cat.category_name(e.category_digit),
                    "commands": list(e.commands),
                    "related": [str(c) for c in e.related],
                    "references": list(e.references),
                    "sources": list(e.sources),
                }
            )
    if kind in ("all", "enhanced"):
        for x in cat.enhanced_codes():
            records.append(
                {
                    "code": x.code,
                    "kind": "enhanced",
                    "title": x.title,
                    "description": x.description,
                    "when": x.when,
                    "fix": x.fix,
                    "basic": [str(c) for c in x.basic],
                    "references": list(x.references),
                    "sources": list(x.sources),
                }
            )
    return records


def _print_list(lang: str, kind: str, fmt: str) -> None:
    records = _list_records(lang, kind)
    if fmt == "json":
        import json

        print(json.dumps(records, ensure_ascii=False, indent=2))
        return
    if fmt == "markdown":
        from smtplab.core.catalogue import catalogue

        ui = catalogue(lang)
        print(f"| {ui.ui('label.code')} | {ui.ui('label.title')} |\n|---|---|")
        for record in records:
            title = record["title"].replace("|", "\\|")
            print(f"| `{record['code']}` | {title} |")
        return
    width = max(len(r["code"]) for r in records)
    for record in records:
        print(f"{record['code']:<{width}}  {record['title']}")


def _lab(folder: str, browser: bool, port: int | None, teacher: bool = False) -> int:
    """Copy the course, install the notebook libraries if this interpreter lacks them, and run JupyterLab."""
    from smtplab.notebook import course

    target = course.check_folder(folder)  # a folder that cannot be used fails before anything is installed
    missing = course.missing_notebook_modules()
    if missing:
        course.install_notebook_extra(missing, say=print)
    report = course.copy_course(target, teacher=teacher)
    for line in report.lines():
        print(line)
    course.trust_notebooks(report.folder, report.copied())
    return course.start_lab(report.folder, browser=browser, port=port)


def _add_serve(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the lab server for a classroom, until Ctrl-C or SIGTERM",
        add_help=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the lab SMTP server on its own, for a class: one log line per session on stdout,\n"
        "status on stderr, accepted mail in a kept Maildir. Loopback only unless --host says\n"
        "otherwise. SIGINT or SIGTERM stops it cleanly (exit 0). See docs/serve.md.",
    )
    parse = serve.parse_known_args

    def parse_known_args(*args, **kwargs):  # type: ignore[no-untyped-def,unused-ignore]
        # The options are added when `serve` is the command, so other commands do not pay for them at start-up.
        if not serve._actions:
            _serve_options(serve)
        namespace, extras = parse(*args, **kwargs)
        if extras:
            one_line_error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras

    def one_line_error(message: str) -> None:  # a usage mistake: one line, exit 2
        serve.exit(2, f"{serve.prog}: error: {message}\n")

    serve.parse_known_args = parse_known_args  # type: ignore[method-assign,unused-ignore]
    serve.error = one_line_error  # type: ignore[method-assign,unused-ignore]


def _serve_options(serve: argparse.ArgumentParser) -> None:
    import textwrap

    from smtplab.classroom.scenarios import SCENARIOS

    width = max(map(len, SCENARIOS))
    serve.epilog = "scenarios (--scenario NAME):\n" + "\n".join(
        textwrap.fill(
            s.describe("en"), 88, initial_indent=f"  {s.name:<{width}}  ", subsequent_indent=" " * (width + 4)
        )
        for s in SCENARIOS.values()
    )
    serve.add_argument("-h", "--help", action="help", help="show this help message and exit")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1; anything not loopback prints a warning)",
    )
    serve.add_argument(
        "--port", type=int, default=2525, metavar="N", help="port (default: 2525; 0: any free one, printed)"
    )
    serve.add_argument(
        "--maildir",
        default="smtplab-maildir",
        metavar="DIR",
        help="Maildir for accepted mail, made if missing, never deleted (default: ./smtplab-maildir)",
    )
    serve.add_argument(
        "--vrfy",
        metavar="MODE",
        help="VRFY mode over the scenario's: cannot-verify (252), confirm (250/550), disabled (502)",
    )
    serve.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="ADDR",
        help="a local user (alice or alice@school.example); repeat it; replaces alice, bob, carol, alan",
    )
    serve.add_argument(
        "--scenario", default="default", metavar="NAME", help="classroom preset (default: default; below)"
    )
    _add_lang(serve)
    serve.add_argument("--max-connections", type=int, default=400, metavar="N", help="sessions at once (default: 400)")
    serve.add_argument(
        "--max-per-client",
        type=int,
        metavar="N",
        help="sessions at once from one client address (default: three quarters of --max-connections, "
        "so a JupyterHub or a NAT, where a whole class shares one address, fits)",
    )
    serve.add_argument(
        "--max-per-learner",
        type=int,
        default=10,
        metavar="N",
        help="sessions at once naming one learner in EHLO (NAME.learner.lab) (default: 10; 0: no limit)",
    )
    serve.add_argument(
        "--learner-policy",
        action="store_true",
        help="let each learner's lab set its own sessions' policy over the scenario (lab.policy, XPOLICY): "
        "every challenge of notebook 07 on one server at once",
    )
    serve.add_argument(
        "--hub-api",
        metavar="URL",
        help="verify learners with this JupyterHub's API (e.g. http://127.0.0.1:8081/hub/api): a lab on the hub "
        "proves its learner with its JupyterHub token (AUTH X-JUPYTERHUB), and the events say who was verified",
    )
    serve.add_argument(
        "--max-size", type=int, metavar="BYTES", help="largest message (default: the scenario's, 10 MiB)"
    )
    serve.add_argument(
        "--idle-timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="seconds without a command before 421 (default: 300)",
    )
    serve.add_argument(
        "--session-deadline",
        type=float,
        default=3600.0,
        metavar="S",
        help="seconds a session may last in all before 421 (default: 3600; 0: no deadline)",
    )
    serve.add_argument(
        "--data-deadline",
        type=float,
        default=600.0,
        metavar="S",
        help="seconds from DATA's 354 to the final dot before 421 (default: 600; 0: no deadline)",
    )
    serve.add_argument(
        "--junk-command-limit",
        type=int,
        default=100,
        metavar="N",
        help="NOOP, VRFY, EXPN, RSET, HELP, ETRN per session before 421 (default: 100, as Postfix; 0: no limit)",
    )
    serve.add_argument(
        "--hard-error-limit",
        type=int,
        default=20,
        metavar="N",
        help="4xx/5xx replies per session before the next command gets 421 (default: 20, as Postfix; 0: no limit)",
    )
    serve.add_argument(
        "--grace",
        type=float,
        default=10.0,
        metavar="S",
        help="on SIGINT/SIGTERM, seconds a transfer in progress may take to finish (default: 10)",
    )
    serve.add_argument(
        "--events",
        metavar="FILE",
        help="append one JSON line per reply to FILE (learner, "
        "command, reply code; AUTH credentials never), for the instructor's dashboard",
    )
    serve.add_argument(
        "--events-max-size",
        type=int,
        default=64 * 2**20,
        metavar="BYTES",
        help="past this size the --events file is renamed FILE.1 and started again (default: 64 MiB; 0: no limit)",
    )
    serve.add_argument(
        "--dashboard",
        type=_port,
        metavar="PORT",
        help="serve the instructor's dashboard, a read-only "
        "web page of the --events file, on http://127.0.0.1:PORT/ (0: any free port)",
    )
    serve.add_argument(
        "--dashboard-host",
        default="127.0.0.1",
        metavar="ADDR",
        help="address of the dashboard page (default: 127.0.0.1; not loopback needs --dashboard-public)",
    )
    serve.add_argument(
        "--dashboard-public", action="store_true", help="let --dashboard-host be an address the network can reach"
    )
    serve.add_argument(
        "--dashboard-allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name the page may be reached by, besides addresses and localhost (repeat it); "
        "others get 403, against DNS rebinding",
    )


_SUBCOMMANDS = {
    "explain": _add_explain,
    "compare": _add_compare,
    "list": _add_list,
    "lab": _add_lab,
    "serve": _add_serve,
    "site": _add_site,
}


def _serve(args: argparse.Namespace) -> int:
    from smtplab.classroom import serve

    options = serve.ServeOptions(
        host=args.host,
        port=args.port,
        maildir=args.maildir,
        vrfy=args.vrfy,
        users=tuple(args.user),
        scenario=args.scenario,
        lang=args.lang,
        max_connections=args.max_connections,
        max_per_client=args.max_per_client,
        max_per_learner=args.max_per_learner,
        hub_api=args.hub_api,
        learner_policy=args.learner_policy,
        max_size=args.max_size,
        idle_timeout=args.idle_timeout,
        session_deadline=args.session_deadline,
        data_deadline=args.data_deadline,
        junk_command_limit=args.junk_command_limit,
        hard_error_limit=args.hard_error_limit,
        grace=args.grace,
        events=args.events,
        events_max_size=args.events_max_size,
        dashboard=args.dashboard,
        dashboard_host=args.dashboard_host,
        dashboard_public=args.dashboard_public,
        dashboard_allowed_hosts=tuple(args.dashboard_allowed_host),
    )
    try:
        return serve.serve(options)
    except SMTPLabError as exc:
        print(f"smtplab serve: error: {exc}", file=sys.stderr)
        return 2


def _error_line(lang: str, error: SMTPLabError) -> str:
    """``smtplab: error: …`` in the reader's language (the message itself already is)."""
    if lang == "en":
        return f"smtplab: error: {error}"
    from smtplab.core.catalogue import catalogue

    return catalogue(lang).ui("error.line", prog="smtplab", message=error)


def _unknown_command(parser: argparse.ArgumentParser, typed: str, lang: str) -> NoReturn:
    """A mistyped command: one line naming the nearest commands (``explian``: did you mean explain?), exit 2."""
    import difflib

    from smtplab.core.catalogue import catalogue

    near = difflib.get_close_matches(typed, list(_SUBCOMMANDS), n=2, cutoff=0.5)
    swapped = [name for name in near if sorted(name) == sorted(typed)]  # letters typed in the wrong order
    near = swapped or near
    ui = catalogue(lang)
    hint = ui.ui("error.did_you_mean", names=" or ".join(near)) if near else ""
    message = ui.ui("error.unknown_command", command=typed, commands=", ".join(_SUBCOMMANDS), hint=hint)
    parser.print_usage(sys.stderr)
    parser.exit(2, ui.ui("error.line", prog=parser.prog, message=message) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    if argv is None:
        argv = sys.argv[1:]
    lang = requested_language(argv)
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    parser = build_parser(only=command if command in _SUBCOMMANDS else None, lang=lang)
    if not argv:  # bare `smtplab`: what it can do, not an error
        parser.print_help()
        return 0
    if command is not None and command not in _SUBCOMMANDS and argv[0] == command:
        _unknown_command(parser, command, lang)
    args = parser.parse_args(argv)
    try:
        if args.command == "explain":
            from smtplab.core.explanation import explain

            print(explain(" ".join(args.code), lang=args.lang).render(_format(args.format)), end="")
        elif args.command == "compare":
            from smtplab.core.enhanced_comparison import compare_enhanced, is_enhanced_query

            if is_enhanced_query(args.a) and is_enhanced_query(args.b):
                print(compare_enhanced(args.a, args.b, lang=args.lang).render(_format(args.format)), end="")
            else:
                from smtplab.core.comparison import compare

                print(compare(args.a, args.b, lang=args.lang).render(_format(args.format)), end="")
        elif args.command == "list":
            _print_list(args.lang, args.kind, "json" if args.json else _format(args.format))
        elif args.command == "lab":
            return _lab(args.dir, not args.no_browser, args.port, args.teacher)
        elif args.command == "serve":
            return _serve(args)
        elif args.command == "site":
            return _site(args.dir, args.wheel)
    except SMTPLabError as exc:
        print(_error_line(lang, exc), file=sys.stderr)
        return 2
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`); nothing left to say
        return 0
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
