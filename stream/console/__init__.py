"""The operator console: static pages served beside the API, and the read endpoints only it needs."""
