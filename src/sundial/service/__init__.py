"""Use cases: one method per RPC, each owning its transaction. No grpc here."""
