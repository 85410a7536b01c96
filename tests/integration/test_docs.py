"""docs/openapi.yaml stays in step with the code: the same routes and methods as the route
table in src/, and every error code src/err.c can produce."""

import os
import re

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(rel):
    with open(os.path.join(REPO, rel)) as f:
        return f.read()


def code_routes():
    routes = set()
    for name in os.listdir(os.path.join(REPO, "src")):
        if name.startswith("api_") and name.endswith(".c"):
            for method, path in re.findall(r'api_route_\w+ = \{"(\w+)", "([^"]+)"', read(f"src/{name}")):
                routes.add((method.lower(), path))
    return routes


def test_openapi_routes_match_the_route_table():
    spec = yaml.safe_load(read("docs/openapi.yaml"))
    assert spec["openapi"].startswith("3.")
    # OpenAPI names its path parameters ({username}); the route table writes {}.
    documented = {(m, re.sub(r"\{\w+\}", "{}", p))
                  for p, ops in spec["paths"].items() for m in ops
                  if m in ("get", "post", "put", "patch", "delete")}
    routes = code_routes()
    assert len(routes) >= 7
    assert documented == routes


def test_openapi_lists_every_error_code():
    codes = set(re.findall(r'\{"([A-Z_]+)", \d{3},', read("src/err.c"))) - {"OK"}
    assert {"UNAUTHORIZED", "OCCTL_TIMEOUT", "SHUTTING_DOWN"} <= codes
    spec_text = read("docs/openapi.yaml")
    missing = sorted(c for c in codes if c not in spec_text)
    assert not missing, f"error codes missing from docs/openapi.yaml: {missing}"
    api_md = read("docs/api.md")
    assert not [c for c in codes if c not in api_md]


SCHEMA_KEYWORDS = {
    "type", "description", "properties", "items", "required", "enum", "nullable", "format",
    "example", "examples", "$ref", "oneOf", "allOf", "anyOf", "additionalProperties", "minimum",
    "maximum", "minLength", "maxLength", "pattern", "default", "readOnly", "minItems",
    "maxItems", "deprecated", "uniqueItems",
}


def test_openapi_schemas_are_well_formed():
    """A comma in an unquoted flow-style description splits it into a stray key; every $ref
    must point at something."""
    spec = yaml.safe_load(read("docs/openapi.yaml"))
    problems = []

    def resolve(ref):
        node = spec
        for part in ref.lstrip("#/").split("/"):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    def walk(node, where):
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                if isinstance(prop, dict):
                    stray = sorted(set(prop) - SCHEMA_KEYWORDS)
                    if stray:
                        problems.append(f"{where}/properties/{name}: stray keys {stray}")
            ref = node.get("$ref")
            if isinstance(ref, str) and not resolve(ref):
                problems.append(f"{where}: unresolved $ref {ref}")
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")

    walk(spec, "")
    assert not problems, "\n".join(problems)
