"""Serving: the command line, the model server launcher and the HTTP API."""
