"""gRPC metadata keys the server reads, shared with the gateway that sends them."""

AUTHORIZATION_KEY = "authorization"
# The REST client's address, which the gateway sends along with GATEWAY_TOKEN_KEY: a secret
# the server gave it, so that no other caller can claim to speak for someone else.
CLIENT_KEY = "x-sundial-client"
GATEWAY_TOKEN_KEY = "x-sundial-gateway"
