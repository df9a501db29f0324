"""The SMTP session's own rules, sans I/O: what any transport's driver feeds bytes to and asks what to answer.

In the manner of h11, nothing here reads or writes: :class:`~smtplab.core.session.connection.SessionCore`
takes the bytes a client sent and gives back events (a command to carry out, a line refused, a whole
message, an AUTH answer) and keeps the session's state; the guard tables
(:mod:`~smtplab.core.session.guards`) say which reply refuses a command before it runs; each command's
own checks (:mod:`~smtplab.core.session.commands`), the AUTH exchange (:mod:`~smtplab.core.session.auth`),
the bare-newline rules (:mod:`~smtplab.core.session.newlines`) and the session's budget of junk and
errors (:mod:`~smtplab.core.session.budget`) are plain functions and small objects. Everything is named
by ``replies.toml`` entries; the lab server's driver (:mod:`smtplab.server.protocol`) turns the names
into replies, asks the policy and the handler, and does the I/O, over a socket or an in-memory pair.
"""
