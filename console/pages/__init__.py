"""One module per console page: each reads the request, calls services, renders a template."""
