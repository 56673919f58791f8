"""The `worker` role: provider calls from a durable task queue, and the expiry reaper.

- ``tasks``: the provider task queue, a leased queue (``infrastructure.leased_queue``) over
  the ``provider_tasks`` table (``projections.schema``);
- ``task_feed``: fills the table from the log, exactly once (ProjectionRunner);
- ``executor``: claims due tasks (creates in batches, adr/0023), calls providers, records
  outcomes, backs off;
- ``reaper``: cancels orders whose payment window has passed;
- ``retention``: prunes finished tasks and settled inbox rows.

The role's loops are put together by the composition root (entrypoints.bootstrap).
"""
