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
