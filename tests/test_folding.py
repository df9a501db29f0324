"""Short outputs: what a notebook shows first is the lesson, the long rest is one click away (``<details>``).

A terminal has nothing to click: the text of the same objects still holds everything.
"""

from __future__ import annotations

from smtplab import Lab, compare, explain


def closed_details(html: str) -> int:
    return html.count('<details class="smtplab-details">') + html.count('<details class="smtplab-details ')


def test_explain_shows_description_when_and_fix_and_folds_the_rest():
    html = explain(250)._repr_html_()
    fix, fold = html.index("How to fix"), html.index("<details")
    assert html.index("Description") < html.index("When you see this code") < fix < fold
    assert html.index("What the digits say") > fold and html.index("Learn more") > fold
    assert "More about 250" in html and "<details open" not in html
    text = str(explain(250))
    for heading in ("Description", "How to fix", "What the digits say", "Related codes", "Learn more"):
        assert f"\n{heading}\n" in text  # the terminal's text keeps every section


def test_the_enhanced_part_of_a_reply_is_one_line_with_its_parts_folded():
    html = explain("550 5.1.1 User unknown")._repr_html_()
    summary = "<summary><strong>Enhanced status code 5.1.1: Bad destination mailbox address</strong></summary>"
    assert summary in html
    assert html.index(summary) < html.index("Subject 1: Addressing.")
    assert closed_details(html) == 2


def test_a_transcript_shows_its_ladder_and_folds_the_table_of_explanations():
    with Lab() as lab:
        lab.ehlo()
        lab.vrfy("alice")
        html = lab.transcript._repr_html_()
        markdown = lab.transcript._repr_markdown_()
    assert html.index("<svg") < html.index("<details") < html.index("<table")
    assert "Each exchange explained: the command, the reply, what it means (3)" in html
    assert "Cannot Verify User" in markdown  # the table is still in the Markdown


def test_compare_folds_both_entries_and_the_sources():
    html = compare(450, 550)._repr_html_()
    assert closed_details(html) == 4
    assert html.index("Key differences") < html.index("<details") < html.index("When to use which")
