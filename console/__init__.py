"""The console: dlrhub's web UI, served by the API process at ``/console/``.

An edge like ``api/``: ``app.py`` mounts it on the API's Falcon app, ``pages/`` holds
one thin handler module per page (each calls the same service functions as the JSON
API), ``templates/`` their Jinja2 templates (autoescaped), ``i18n.py`` the English and
Simplified Chinese labels, ``web.py`` sign-in, CSRF and the security headers.
"""
