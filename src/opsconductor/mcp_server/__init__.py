"""The Model Context Protocol face: `opsconductor mcp` lets an AI agent ask and follow, as one
OpsConductor user, through the same service functions as the CLI. It has no tool to approve:
a person approves (CLI, API, web), and four-eyes holds as for anyone.

`tools` is the face's logic and imports nothing of the `mcp` SDK; `server` wires it to the
SDK and is imported only by the `mcp` command, so other commands start without the SDK."""
