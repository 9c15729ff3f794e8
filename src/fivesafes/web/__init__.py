"""web: the public portal, server-rendered pages in the same application as the API.

:func:`fivesafes.web.pages.install` adds them; what they show comes from the environment
layer's public reads (``fivesafes.environment.public``, the public catalogue), never from a rule
of the portal's own.
"""
