"""api: the environment's HTTP face — the FHIR R4 API for care, self-service, the directory.

One FastAPI application (:func:`fivesafes.api.app.create_app`), one router per area
(``fhir``, ``personal``, ``directory``, ``auth``; the management API and portal join it the same
way), one way to find the caller (:mod:`.deps`), one error layer (:mod:`.errors`) and one OpenAPI
document. Routes parse, call the environment layer, and render: no rule lives here.
"""
