"""The HTTP API: bearer-token roles, chain and payment views, the recipients export."""
