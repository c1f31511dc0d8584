"""`python -m sundial.gateway [FILE]`: writes the OpenAPI document of every sundial.v1
service to FILE, or to stdout (what `make openapi` runs)."""

import sys
from collections.abc import Sequence

from sundial.gateway.openapi import encode_document, openapi_document
from sundial.gateway.routes import discover_services, routes_of


def main(argv: Sequence[str]) -> int:
    document = encode_document(openapi_document(routes_of(discover_services())))
    if argv:
        with open(argv[0], "wb") as out:
            out.write(document)
    else:
        sys.stdout.buffer.write(document)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
