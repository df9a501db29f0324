"""The learner's lab: a recording client, the background event loop, and :class:`~smtplab.lab.lab.Lab` over a server."""
