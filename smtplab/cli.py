"""The ``smtplab`` command: look codes up, compare them, list the catalogue.

A thin front end: it parses arguments, calls the core and prints what the
core renders. Every mistake a user can make ends in one line on stderr and
exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .errors import SMTPLabError

TYPE_CHECKING = False  # typing is not imported at run time: it costs start-up
if TYPE_CHECKING:  # pragma: no cover
    from typing import Sequence

FORMATS = ("text", "markdown", "html")


LANGUAGES = ("en", "vi")  # smtplab.catalogue.LANGUAGES; a test keeps the two equal


def _add_lang(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the text (default: en)")


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smtplab",
        description="Learn SMTP replies: explain and compare reply codes, list the catalogue.",
    )
    parser.add_argument("--version", action="version", version=f"smtplab {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    explain = commands.add_parser(
        "explain",
        help="explain a reply code, an enhanced status code or a whole reply line",
        description="Explain 252, 5.1.1, '550 5.1.1' or a whole reply line such as '252 2.1.5 Cannot VRFY user'.",
    )
    explain.add_argument("code", nargs="+", help="a code, an enhanced code, or a reply line (quote it)")
    _add_lang(explain)
    _add_format(explain)

    compare = commands.add_parser("compare", help="compare two reply codes side by side")
    compare.add_argument("a", help="first reply code, e.g. 250")
    compare.add_argument("b", help="second reply code, e.g. 252")
    _add_lang(compare)
    _add_format(compare)

    listing = commands.add_parser("list", help="list every code in the catalogue")
    _add_lang(listing)
    listing.add_argument("--json", action="store_true", help="print a JSON array instead of text")
    listing.add_argument(
        "--kind", choices=("all", "basic", "enhanced"), default="all",
        help="three-digit codes, enhanced status codes, or both (default: all)",
    )
    return parser


def _list_records(lang: str, kind: str) -> list[dict]:
    from .catalogue import catalogue

    cat = catalogue(lang)
    records: list[dict] = []
    if kind in ("all", "basic"):
        for e in cat.basic_codes():
            records.append({
                "code": str(e.code), "kind": "basic", "title": e.title, "description": e.description,
                "when": e.when, "fix": e.fix, "class": cat.reply_class_name(e.class_digit),
                "category": cat.category_name(e.category_digit), "commands": list(e.commands),
                "related": [str(c) for c in e.related], "references": list(e.references),
                "sources": list(e.sources),
            })
    if kind in ("all", "enhanced"):
        for x in cat.enhanced_codes():
            records.append({
                "code": x.code, "kind": "enhanced", "title": x.title, "description": x.description,
                "when": x.when, "fix": x.fix, "basic": [str(c) for c in x.basic],
                "references": list(x.references), "sources": list(x.sources),
            })
    return records


def _print_list(lang: str, kind: str, as_json: bool) -> None:
    records = _list_records(lang, kind)
    if as_json:
        import json

        print(json.dumps(records, ensure_ascii=False, indent=2))
        return
    width = max(len(r["code"]) for r in records)
    for record in records:
        print(f"{record['code']:<{width}}  {record['title']}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "explain":
            from .explanation import explain

            print(explain(" ".join(args.code), lang=args.lang).render(args.format), end="")
        elif args.command == "compare":
            from .comparison import compare

            print(compare(args.a, args.b, lang=args.lang).render(args.format), end="")
        elif args.command == "list":
            _print_list(args.lang, args.kind, args.json)
    except SMTPLabError as exc:
        print(f"smtplab: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`); nothing left to say
        return 0
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
