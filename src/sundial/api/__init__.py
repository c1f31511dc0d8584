"""gRPC servicers, proto<->domain conversion, interceptors. The only layer (with gateway/)
that imports grpc and the generated code."""
