"""The lab's SMTP server: the policy, the SMTP protocol on aiosmtpd, its handler, the Maildir and ``smtplab serve``.

Built on :mod:`smtplab.core`; knows nothing of the learner's client, the notebook or the command line.
"""
