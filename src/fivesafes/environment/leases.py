"""How long a worker's claim on a job lasts: the one figure the queue (:mod:`.job_queue`), the
worker and ``fivesafes worker --lease`` share, in a module of its own so that the command's help
can show it without importing the queue and the control plane's ORM under it."""

LEASE_SECONDS = 30.0
"""How long a claim holds unrenewed; a worker renews it every third of that."""
