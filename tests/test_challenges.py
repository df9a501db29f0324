"""The workshop challenges of notebook 07 as data: the checks the notebook makes, and the dashboard's live view."""

from __future__ import annotations

import pytest

from smtplab import Lab
from smtplab.classroom.challenges import CHALLENGES, ChallengeTracker, UnknownChallenge, challenge
from smtplab.core.reply import Reply

# (challenge, replies of one attempt, passes?) — the replies as notebook 07's check cells see them.
ATTEMPTS = [
    (1, [250, 551], True),
    (1, [551, 250], False),  # notebook 07 wants 551 as the last reply
    (1, [], False),
    (2, [(452, "4.3.1")], True),
    (2, [(452, "4.5.3")], True),  # too many recipients: the same code, another reason
    (3, [530, 334, 235], True),
    (3, [530, 235, 250], True),  # the 235 need not be last
    (3, [235, 530], False),  # 235 before the 530 does not count
    (3, [235], False),
    (4, [250, 556], True),
    (5, [503], True),
    (5, [250, 503, 250], False),
    (6, [(552, "5.2.2"), (250, "2.1.5")], True),
    (6, [(552, "5.3.4"), 250], False),  # another 552: message too big, not a full mailbox
    (6, [250, (552, "5.2.2")], False),
    (6, [(552, "5.2.2"), 250, 550], False),
]


@pytest.mark.parametrize(("number", "replies", "passes"), ATTEMPTS)
def test_an_attempt_passes_as_notebook_07_checks_it(number, replies, passes):
    assert challenge(number).passed(replies) is passes


def test_challenge_5_needs_the_default_policy():
    assert challenge(5).passed([503], default_policy=False) is False
    assert challenge(1).passed([551], default_policy=False) is True


@pytest.mark.parametrize(
    ("replies", "solved"),
    [
        ([220, 250, 551, 250, 221], {1}),  # reached once is solved for good
        ([220, 530, 250, 235], {3}),
        ([220, 235, 530], set()),
        ([220, 503, 452, 556], {2, 4, 5}),
        ([(552, "5.2.2"), 221, 250], {6}),
        ([(552, "5.2.2")], set()),
    ],
)
def test_a_stream_of_replies_solves_a_challenge_once_some_prefix_passes(replies, solved):
    tracker = ChallengeTracker()
    for reply in replies:
        tracker.feed(reply)
    assert tracker.solved == solved
    for number in solved:  # the live view agrees with the notebook's check on the prefix that solved it
        assert any(challenge(number).passed(replies[: end + 1]) for end in range(len(replies)))


def test_titles_in_both_languages_match_notebook_07():
    import json
    from pathlib import Path

    notebook = json.loads((Path(__file__).parent.parent / "notebooks" / "07-workshop-challenges.ipynb").read_text())
    headings = ["".join(c["source"]).splitlines()[0].lower() for c in notebook["cells"] if c["cell_type"] == "markdown"]
    for item in CHALLENGES:
        assert f"## challenge {item.number}: {item.title_in('en').lower()}" in headings
        assert item.title_in("vi") and item.title_in("vi") != item.title_in("en")
        assert item.task_in("vi") and item.task_in("vi") != item.task_in("en")
    assert [c.number for c in CHALLENGES] == [1, 2, 3, 4, 5, 6]


def test_an_unknown_challenge_names_the_ones_there_are():
    with pytest.raises(UnknownChallenge, match=r"no challenge 7: expected one of 1, 2, 3, 4, 5, 6") as caught:
        challenge(7)
    assert isinstance(caught.value, LookupError)


def test_notebook_07_solutions_on_a_real_lab_pass_the_shared_checks():
    """The folded-away solution of each challenge, run on a live Lab: the replies pass the shared definition."""
    solutions = {
        1: lambda lab: (
            setattr(lab.policy, "forwarding", "refuse"),
            lab.mail_from("learner@lab.example"),
            lab.rcpt_to("dave@lab.example"),
        ),
        2: lambda lab: (
            setattr(lab.policy, "max_recipients", 1),
            lab.mail_from("learner@lab.example"),
            lab.rcpt_to("alice@lab.example"),
            lab.rcpt_to("bob@lab.example"),
        ),
        3: lambda lab: (
            setattr(lab.policy, "auth", "required"),
            lab.mail_from("learner@lab.example"),
            lab.auth(),
            lab.mail_from("learner@lab.example"),
        ),
        4: lambda lab: (
            setattr(lab.policy, "null_mx", ["nomail.example"]),
            lab.mail_from("learner@lab.example"),
            lab.rcpt_to("anyone@nomail.example"),
        ),
        5: lambda lab: lab.send("DATA"),
        6: lambda lab: (
            lab.policy.rule("RCPT", "552 5.2.2 Mailbox full", match="bob@*", times=1),
            lab.mail_from("learner@lab.example"),
            lab.rcpt_to("bob@lab.example"),
            lab.rcpt_to("bob@lab.example"),
        ),
    }
    with Lab() as lab:
        lab.ehlo()
        for number, solve in solutions.items():
            lab.policy.reset()
            lab.rset()
            start = len(lab.transcript)
            solve(lab)
            replies = lab.transcript[start:].replies()
            assert all(isinstance(r, Reply) for r in replies)
            default = not lab.policy.changed() and not lab.policy.rules
            assert challenge(number).passed(replies, default_policy=default), (number, [str(r) for r in replies])
            others = [c.number for c in CHALLENGES if c.number != number and c.passed(replies, default_policy=default)]
            assert others == [], (number, others)
