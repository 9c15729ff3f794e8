"""fivesafes: a secure data environment for health and social care data.

Data flows one way through the stages named by the sub-packages:
ingest -> store -> query -> jobs -> disclosure -> release -> dashboards,
with governance guarding and the ledger recording every arrow.
"""

__version__ = "0.1.0"
