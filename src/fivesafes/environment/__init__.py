"""environment: the use cases of a secure data environment, end to end, in one place.

Every face (``cli``, ``api``, ``web``) calls this layer and nothing below it for a use case it
owns: load data, submit and run a job, extract for a project, check outputs, request, review and
publish a release, decide an application, change an account, read a record, self-service. Each
use case takes the acting person's credential, authorises it, applies exclusions (opt-outs,
consent), does the work through the stages, and writes the ledger entries, failing closed: a
missing key, setting or grant stops the work with a clear error. The stages below stay free of
policy; the faces above hold none of their own (DESIGN.md, "Shape of the system").
"""
