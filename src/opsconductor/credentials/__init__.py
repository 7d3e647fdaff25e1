"""Credentials: logins for assets, sealed at rest, opened only inside a connector at use.

`vault` holds the key and seals and opens secrets, `repository` stores them and hands one to a
connector (`load_secret`), `masking` keeps known secret values out of captured output."""
