"""Loading handlers from functions/<name>/app.py and invoking them as Lambda would."""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

_loaded: dict[Path, ModuleType] = {}


def load_handler_module(code_dir: Path) -> ModuleType:
    """Import ``code_dir/app.py`` under a unique module name (every function's module is called app)."""
    code_dir = code_dir.resolve()
    if code_dir not in _loaded:
        name = f"fn_{code_dir.name}"
        spec = importlib.util.spec_from_file_location(name, code_dir / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _loaded[code_dir] = module
    return _loaded[code_dir]


@dataclass
class FakeLambdaContext:
    function_name: str = "local"
    memory_limit_in_mb: int = 512
    timeout_seconds: float = 300.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:local"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


def invoke(code_dir: Path, event: dict[str, Any], timeout_seconds: float = 30.0) -> Any:
    module = load_handler_module(code_dir)
    context = FakeLambdaContext(function_name=code_dir.name, timeout_seconds=timeout_seconds)
    return module.lambda_handler(event, context)
