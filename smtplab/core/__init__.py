"""The pure core: reply values and parsing, the catalogue, documents, explanations, comparisons and transcripts.

Nothing here does I/O beyond reading the package's own data files, and nothing imports asyncio, sockets,
aiosmtpd, aiosmtplib, IPython or ipywidgets; an import-linter contract in the tests keeps it so.
"""
