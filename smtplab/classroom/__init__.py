"""The class server around the lab server: ``smtplab serve``, its events file, its scenarios and the teacher's view.

Two halves. The pure half (:mod:`~smtplab.classroom.progress`, :mod:`~smtplab.classroom.class_view`,
:mod:`~smtplab.classroom.challenges`, :mod:`~smtplab.classroom.scenarios`) folds events into a class's progress
and renders it, with no I/O, so it is tested with plain strings. The other half runs it:
:mod:`~smtplab.classroom.serve` (the command), :mod:`~smtplab.classroom.options` (what it is told),
:mod:`~smtplab.classroom.events` (the events file), :mod:`~smtplab.classroom.room` and
:mod:`~smtplab.classroom.dashboard_web` (the page on loopback).

Built on :mod:`smtplab.server` and :mod:`smtplab.core`; the learner's lab and the notebook sit above it.
"""
