"""Provider webhooks: verified on their raw bytes, kept in an inbox, applied from tables.

- the signature check lives in each provider's ``client.py`` (infrastructure.payments); the
  envelopes (an event's outer shape) and the refusal it raises, ``InvalidSignature``, are the
  delivery port's (application.webhook_deliveries);
- ``inbox``: one row per provider event in ``webhook_inbox`` (``projections.schema``),
  deduplicated on the provider's event id, a leased queue (``infrastructure.leased_queue``)
  while it is applied;
- ``events``: what a handler gets and returns; ``stripe_events`` and ``razorpay_events``:
  the dispatch tables from event type to use case;
- ``applier``: applies one inbox row and records how it went (processed, ignored, failed);
- ``reception``: what the HTTP endpoints do (verify, record, apply at once);
- ``sweeper``: the worker loop that re-applies rows whose first application failed.
"""
