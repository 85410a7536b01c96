"""Assertions on the agent's response envelope, shared by the integration tests."""

import os
import re

UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ISO_MS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def assert_error(resp, status, code):
    """The error envelope of the contract, with requestId equal to the X-Request-Id header."""
    assert resp.status == status, resp
    assert resp.header("Content-Type").startswith("application/json"), resp.header("Content-Type")
    rid = resp.header("X-Request-Id")
    assert rid, "X-Request-Id header missing"
    body = resp.json()
    assert body["ok"] is False, body
    err = body["error"]
    assert err["code"] == code, body
    assert isinstance(err["message"], str) and err["message"], body
    assert err["requestId"] == rid, (err, rid)
    return body


def assert_ok(resp, status=200):
    assert resp.status == status, resp
    assert resp.header("Content-Type").startswith("application/json"), resp.header("Content-Type")
    assert resp.header("X-Request-Id"), "X-Request-Id header missing"
    body = resp.json()
    assert body["ok"] is True, body
    return body


def minimal_root(root):
    """A directory tree that useradd/groupadd --root and dist/install.sh --root can work in:
    they lock and edit these files inside the target root."""
    etc = root / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (etc / "group").write_text("root:x:0:\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (etc / "gshadow").write_text("root:*::\n")
    os.chmod(etc / "shadow", 0o640)
    os.chmod(etc / "gshadow", 0o640)
    return root
