"""Notebook front ends: the widgets, the ``%%smtp`` magics and the course files ``smtplab lab`` opens."""
