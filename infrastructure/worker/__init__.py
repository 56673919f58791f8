"""The `worker` role: provider calls from a durable task queue, and the expiry reaper.

- ``tasks``: the ``provider_tasks`` table and the lease-based queue over it;
- ``task_projection``: fills the table from the log, exactly once (ProjectionRunner);
- ``executor``: claims due tasks, calls providers, records outcomes, backs off;
- ``reaper``: cancels orders whose payment window has passed;
- ``assembly``: all of it as the role's loops.
"""
