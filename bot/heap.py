"""The web process's heap once it has started: what it loaded to serve (modules, mappers, compiled
templates, the app itself: some 400 000 objects) is set aside from Python's cyclic garbage collector
(`gc.freeze`), so that a full collection walks only what requests made since.

Without it, a full collection walked the whole start-up heap every few seconds under load — 80 to 190 ms
each, with every request of the process waiting — and collections took about a tenth of a write's CPU.
Frozen objects are still freed by reference counting; only cycles among them would stay, and start-up
leaves none that matter (it collects first).

A served process also loads the libraries the documents import on first use (cards/documents: charts and
quote PDFs), so the first person asking for one does not wait for them and they are frozen with the rest;
a `chatcrm` command that draws nothing starts without them."""
from __future__ import annotations

import gc
import importlib

FIRST_USE = ("matplotlib.figure", "matplotlib.backends.backend_agg", "matplotlib.font_manager",
             "matplotlib.ticker", "fpdf")


def settle() -> None:
    """Load what documents import on first use, collect what start-up left behind, then freeze the rest (once,
    when the process is ready to serve)."""
    for name in FIRST_USE:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()
