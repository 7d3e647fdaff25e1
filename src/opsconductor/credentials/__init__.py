"""Credentials: logins for assets, sealed at rest, opened only inside a connector at use.

`vault` holds the key and seals and opens secrets, `repository` stores them and opens them for
a run (`open_credentials`), `run_secrets` holds them for the connectors of one run, `masking`
keeps every secret of the vault out of captured and live output."""
