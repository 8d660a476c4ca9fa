"""The program enrichment runs: the model's code with `elements` defined and `result` reported.

The same wrapper runs in the local sandbox and in E2B, so model-written code sees one contract.
"""

from __future__ import annotations

import json
from typing import Any

from workers.types import Element

RESULT_MARKER = "__DOCPIPE_RESULT__ "

# Reads {"code", "elements"} from stdin so the working directory stays empty; runs the code in a
# fresh namespace; prints the marker line with `result` as JSON.
RUNNER = f"""
import json, sys
payload = json.loads(sys.stdin.read())
namespace = {{"elements": payload["elements"], "__name__": "__enrichment__"}}
exec(compile(payload["code"], "<enrichment>", "exec"), namespace)
sys.stdout.write("\\n{RESULT_MARKER}" + json.dumps(namespace.get("result"), default=str) + "\\n")
"""


def inline_program(code: str, elements: list[Element]) -> str:
    """One self-contained program (for E2B, where there is no stdin): data embedded as a literal."""
    data = json.dumps({"code": code, "elements": elements})
    return f"import json, sys, io\nsys.stdin = io.StringIO({data!r})\n" + RUNNER


def parse_output(stdout: str) -> tuple[str, Any]:
    """(what the code printed, its `result`) from the runner's stdout."""
    head, sep, tail = stdout.rpartition("\n" + RESULT_MARKER)
    if not sep:
        return stdout, None
    try:
        return head, json.loads(tail.strip())
    except json.JSONDecodeError:
        return head, tail.strip()
