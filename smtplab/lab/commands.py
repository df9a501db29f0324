"""One helper per SMTP command: ``lab.ehlo()``, ``lab.vrfy("alice")``, ``lab.auth()``...

Each helper builds one command line (two or three for ``DATA`` and ``AUTH
LOGIN``, which answer the server's 354 and 334s) and sends it through
:meth:`~smtplab.lab.lab.Lab.send`; none holds a protocol rule. They are a
mixin of :class:`~smtplab.lab.lab.Lab`, kept apart so that the lab's module
is about the lab: its backends, its loop, its transcript.
"""

from __future__ import annotations

import base64

from smtplab.core.reply import Reply
from smtplab.errors import LabArgumentError

__all__ = ["CommandHelpers"]


class CommandHelpers:
    """The command helpers; a class using them has ``send(line)``, ``_client_name`` and ``_credentials()``."""

    def send(self, line: str) -> Reply | None:
        raise NotImplementedError

    @property
    def _client_name(self) -> str:
        raise NotImplementedError

    def _credentials(self) -> tuple[str, str]:
        raise NotImplementedError

    def ehlo(self, name: str | None = None) -> Reply | None:
        """``EHLO <name>`` (default: the client's name, learner.example; on a class server, NAME.learner.lab)."""
        return self.send(f"EHLO {name or self._client_name}")

    def helo(self, name: str | None = None) -> Reply | None:
        """``HELO <name>``: the old greeting, without extensions."""
        return self.send(f"HELO {name or self._client_name}")

    def mail_from(self, address: str) -> Reply | None:
        """``MAIL FROM:<address>`` (``""`` for the null sender)."""
        return self.send(f"MAIL FROM:{_angle(address)}")

    def rcpt_to(self, address: str) -> Reply | None:
        """``RCPT TO:<address>``."""
        return self.send(f"RCPT TO:{_angle(address)}")

    def data(self, message: str) -> Reply | None:
        """``DATA``, then, if the server answers 354, the message; returns the last reply."""
        reply = self.send("DATA")
        if reply is None or reply.code != 354:
            return reply
        return self.send(message)

    def vrfy(self, argument: str) -> Reply | None:
        """``VRFY <argument>``: does the server know this user?"""
        return self.send(f"VRFY {argument}")

    def expn(self, argument: str) -> Reply | None:
        """``EXPN <argument>``: who is on this list?"""
        return self.send(f"EXPN {argument}")

    def rset(self) -> Reply | None:
        """``RSET``: forget the message begun (sender and recipients); the session goes on."""
        return self.send("RSET")

    def noop(self) -> Reply | None:
        """``NOOP``: nothing, answered 250 (is the server still there?)."""
        return self.send("NOOP")

    def help(self, topic: str | None = None) -> Reply | None:
        """``HELP`` or ``HELP <topic>``."""
        return self.send(f"HELP {topic}" if topic else "HELP")

    def quit(self) -> Reply | None:
        """``QUIT``: the server answers 221 and closes; the next send reconnects."""
        return self.send("QUIT")

    def starttls(self) -> Reply | None:
        """``STARTTLS``; on 220 the client runs the TLS handshake (send EHLO again after it)."""
        return self.send("STARTTLS")

    def auth(self, mechanism: str = "PLAIN", username: str | None = None, password: str | None = None) -> Reply | None:
        """Log in: ``AUTH PLAIN <initial response>``, or ``AUTH LOGIN`` and its two 334 challenges.

        Give ``username`` and ``password`` both, or neither: then the first of
        ``lab.policy.credentials`` is used (on a class server, whose users are
        the teacher's, both are needed). Any other mechanism is sent as
        ``AUTH <mechanism>`` alone, so the learner sees how the server answers it.
        """
        for name, given in (("mechanism", mechanism), ("username", username), ("password", password)):
            if given is not None and not isinstance(given, str):
                raise LabArgumentError(f"lab.auth(): {name} is text, not {type(given).__name__}")
        if (username is None) != (password is None):
            given, missing = ("username", "password") if password is None else ("password", "username")
            raise LabArgumentError(
                f"lab.auth() got {given}= without {missing}=: give both, such as lab.auth(username='alice', "
                "password='wonderland'), or neither, to log in as the first of lab.policy.credentials"
            )
        if username is None or password is None:
            username, password = self._credentials()
        mechanism = mechanism.upper()
        if mechanism == "PLAIN":
            initial = _b64("\0" + username + "\0" + password)  # RFC 4616: authzid NUL authcid NUL passwd
            return self.send(f"AUTH PLAIN {initial}")
        if mechanism != "LOGIN":
            return self.send(f"AUTH {mechanism}")
        reply = self.send("AUTH LOGIN")
        for answer in (username, password):
            if reply is None or reply.code != 334:
                return reply
            reply = self.send(_b64(answer))
        return reply


def _angle(address: str) -> str:
    address = address.strip()
    return address if address.startswith("<") and address.endswith(">") else f"<{address}>"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
