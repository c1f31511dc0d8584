"""`sundial mcp`: Sundial's tools for agents over the Model Context Protocol, with the
official SDK. A client of the public gRPC API like the CLI (DESIGN.md section 9): it never
touches the database, and every call carries the caller's key, so the API's permission
model applies to a model's tool calls as to any other client."""
