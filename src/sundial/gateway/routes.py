"""Routes built from the google.api.http annotations of service descriptors.

Nothing here names a Sundial RPC: every unary method of every service given becomes one
route per binding (the rule and its `additional_bindings`). A method without an annotation
gets grpc-gateway's unbound form, `POST /<package.Service>/<Method>` with `body: "*"`."""

import importlib
import pkgutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from google.api import annotations_pb2, http_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor, descriptor_pool, message_factory
from google.protobuf.message import Message
from google.rpc import code_pb2

from sundial.gateway.fields import FieldDescriptor, is_leaf, is_repeated, resolve
from sundial.gateway.http_errors import GatewayError
from sundial.gateway.templates import PathTemplate, split_path

GENERATED_PACKAGE = "sundial.v1"


class RouteError(ValueError):
    """An annotation the gateway cannot serve (a mistake in the protos)."""

    def __init__(self, method: str, problem: str) -> None:
        super().__init__(f"google.api.http of {method}: {problem}")


@dataclass(frozen=True)
class Route:
    """One HTTP binding of one RPC."""

    http_method: str  # upper case
    template: PathTemplate
    method: descriptor.MethodDescriptor
    body: str  # "" (no body), "*" or a top-level request field
    response_body: str  # "" (the whole response) or a top-level response field
    binding: int  # 0 for the rule itself, 1.. for its additional_bindings
    request_class: type[Message] = field(repr=False)
    response_class: type[Message] = field(repr=False)
    path_fields: dict[str, list[FieldDescriptor]] = field(repr=False)

    @cached_property
    def path_json_names(self) -> dict[str, str]:
        """Each path variable's field path in JSON names (`workspace_id` -> `workspaceId`)."""
        return {
            path: ".".join(f.json_name for f in fields) for path, fields in self.path_fields.items()
        }

    @property
    def grpc_method(self) -> str:
        """The gRPC method path, `/package.Service/Method`."""
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def operation_id(self) -> str:
        suffix = str(self.binding + 1) if self.binding else ""
        return f"{self.method.containing_service.name}_{self.method.name}{suffix}"


def find_services(names: Iterable[str]) -> list[descriptor.ServiceDescriptor]:
    """Service descriptors by full name, from the default pool (their modules imported)."""
    pool = descriptor_pool.Default()
    return [pool.FindServiceByName(name) for name in names]


def discover_services(package: str = GENERATED_PACKAGE) -> list[descriptor.ServiceDescriptor]:
    """Every service declared in the generated modules of `package`, by name."""
    services: list[descriptor.ServiceDescriptor] = []
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if info.name.endswith("_pb2"):
            module = importlib.import_module(f"{package}.{info.name}")
            services.extend(module.DESCRIPTOR.services_by_name.values())
    return sorted(services, key=lambda s: s.full_name)


def routes_of(services: Iterable[descriptor.ServiceDescriptor]) -> list[Route]:
    """Every binding of every unary method, most specific template first."""
    routes: list[Route] = []
    for service in services:
        for method in service.methods:
            # REST has no streaming counterpart here; streaming methods stay gRPC-only.
            if method.client_streaming or method.server_streaming:
                continue
            routes.extend(_routes_of_method(method))
    routes.sort(key=lambda r: r.template.precedence)
    return routes


def _routes_of_method(method: descriptor.MethodDescriptor) -> list[Route]:
    options = method.GetOptions()
    if options.HasExtension(annotations_pb2.http):
        rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    else:
        rule = http_pb2.HttpRule(
            post=f"/{method.containing_service.full_name}/{method.name}", body="*"
        )
    rules = [rule, *rule.additional_bindings]
    for extra in rule.additional_bindings:
        if extra.additional_bindings:
            raise RouteError(method.full_name, "additional_bindings may not nest")
    return [_route(method, r, index) for index, r in enumerate(rules)]


def _route(method: descriptor.MethodDescriptor, rule: http_pb2.HttpRule, binding: int) -> Route:
    kind = rule.WhichOneof("pattern")
    if kind is None:
        raise RouteError(method.full_name, "no HTTP method and path")
    if kind == "custom":
        http_method, path = rule.custom.kind.upper(), rule.custom.path
    else:
        http_method, path = kind.upper(), getattr(rule, kind)
    template = PathTemplate.parse(path)
    request_type, response_type = method.input_type, method.output_type
    path_fields: dict[str, list[FieldDescriptor]] = {}
    for variable in template.variables:
        fields = resolve(request_type, variable.field_path, json_names=False)
        if fields is None or not is_leaf(fields[-1]) or is_repeated(fields[-1]):
            raise RouteError(
                method.full_name, f"{variable.field_path!r} is not a singular request field"
            )
        path_fields[variable.field_path] = fields
    if rule.body not in ("", "*"):
        if rule.body not in request_type.fields_by_name:
            raise RouteError(method.full_name, f"body {rule.body!r} is not a top-level field")
        if any(p.split(".")[0] == rule.body for p in path_fields):
            raise RouteError(method.full_name, f"body {rule.body!r} is also bound by the path")
    if rule.response_body and rule.response_body not in response_type.fields_by_name:
        raise RouteError(
            method.full_name, f"response_body {rule.response_body!r} is not a top-level field"
        )
    return Route(
        http_method=http_method,
        template=template,
        method=method,
        body=rule.body,
        response_body=rule.response_body,
        binding=binding,
        request_class=message_factory.GetMessageClass(request_type),
        response_class=message_factory.GetMessageClass(response_type),
        path_fields=path_fields,
    )


class Router:
    """Finds the route of a request: 404 when no template matches the path, 405 when
    templates match but none for this HTTP method."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = tuple(routes)

    def find(self, http_method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed: list[str] = []
        for route, values in self._matching(path):
            if route.http_method == http_method:
                return route, values
            allowed.append(route.http_method)
        if allowed:
            methods = ", ".join(sorted(set(allowed)))
            raise GatewayError(
                code_pb2.UNIMPLEMENTED,
                "METHOD_NOT_ALLOWED",
                f"{http_method} is not allowed on {path}; allowed: {methods}",
                http_status=405,
                headers={"Allow": methods},
            )
        raise GatewayError(code_pb2.NOT_FOUND, "ROUTE_NOT_FOUND", f"no route for {path}")

    def methods(self, path: str) -> list[str]:
        """The HTTP methods `path` takes (none when no template matches it)."""
        return sorted({route.http_method for route, _ in self._matching(path)})

    def _matching(self, path: str) -> Iterator[tuple[Route, dict[str, str]]]:
        """The routes whose template matches `path`, in order, with their variables."""
        verb_matched = False
        split_by_verb: dict[str, list[str] | None] = {}
        for route in self.routes:
            verb = route.template.verb
            # Routes with a verb sort first. Once one matches, `.../x:pause` is a custom
            # method's path, not a resource named `x:pause`: templates without verb stay out.
            if verb_matched and not verb:
                break
            if verb not in split_by_verb:
                split_by_verb[verb] = split_path(path, verb)
            parts = split_by_verb[verb]
            template = route.template
            if parts is None or (template.deep_index < 0 and len(parts) != len(template.segments)):
                continue  # the length alone rules it out (match_parts would find the same)
            values = template.match_parts(parts)
            if values is None:
                continue
            verb_matched = verb_matched or bool(verb)
            yield route, values
