"""Provider webhooks: verified on their raw bytes, kept in an inbox, applied from tables.

- ``signatures``: why a request was refused (the check itself lives in each provider's
  ``client.py``, the only modules that import the SDKs);
- ``inbox``: the ``webhook_inbox`` table, one row per provider event, deduplicated on the
  provider's event id, leased while it is applied;
- ``events``: what a handler gets and returns; ``stripe_events`` and ``razorpay_events``:
  the dispatch tables from event type to use case;
- ``applier``: applies one inbox row and records how it went (processed, ignored, failed);
- ``reception``: what the HTTP endpoints do (verify, record, apply at once);
- ``sweeper``: the worker loop that re-applies rows whose first application failed.
"""
