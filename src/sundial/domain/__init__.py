"""Pure types of Sundial: resources, ids, errors and the clock. No I/O, no grpc, no SQL."""
