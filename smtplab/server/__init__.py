"""The lab's SMTP server: the policy, the SMTP protocol on aiosmtpd, its handler and the Maildir.

Built on :mod:`smtplab.core`; knows nothing of the class server (:mod:`smtplab.classroom`), the learner's client,
the notebook or the command line.
"""
