"""The client commands' config file: named contexts (address, API key file, workspace,
account) and the current one, like kubectl's kubeconfig. It lives at $SUNDIAL_CONFIG or
~/.config/sundial/config.yaml and is written with mode 0600. It never holds a secret, only
the path of the file that does.

    current-context: local
    contexts:
      local: {address: 127.0.0.1:50051, api-key-file: /home/me/.sundial-key, workspace: ws_...}
"""

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sundial.cli import exit_codes
from sundial.cli.documents import yaml_problem
from sundial.cli.errors import CommandError

CONTEXT_FIELDS = ("address", "api-key-file", "workspace", "account")


@dataclass
class ConfigFile:
    path: Path
    current_context: str = ""
    contexts: dict[str, dict[str, str]] = field(default_factory=dict)

    def context(self, name: str) -> dict[str, str]:
        if name not in self.contexts:
            known = ", ".join(sorted(self.contexts)) or "none"
            raise CommandError(
                f"no context {name!r} in {self.path} (known: {known})", exit_codes.NOT_FOUND
            )
        return self.contexts[name]

    def save(self) -> None:
        document = {"current-context": self.current_context, "contexts": self.contexts}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A temporary file created 0600 in the same directory, then renamed over the old one:
        # the file is never readable by others, nor half written.
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".config-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                yaml.safe_dump(document, file, sort_keys=False)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def config_path() -> Path:
    given = os.environ.get("SUNDIAL_CONFIG", "")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CONFIG_HOME", "") or str(Path.home() / ".config")
    return Path(base) / "sundial" / "config.yaml"


def load_config() -> ConfigFile:
    """The config file, or an empty one when it does not exist yet."""
    path = config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ConfigFile(path)
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}", exit_codes.FAILED) from None
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise CommandError(f"{path} is not YAML: {yaml_problem(error)}") from None
    return _parse(path, document)


def _parse(path: Path, document: Any) -> ConfigFile:
    if not isinstance(document, dict):
        raise CommandError(f"{path}: expected a mapping with current-context and contexts")
    contexts = document.get("contexts") or {}
    if not isinstance(contexts, dict):
        raise CommandError(f"{path}: contexts must be a mapping of names to contexts")
    parsed: dict[str, dict[str, str]] = {}
    for name, values in contexts.items():
        if not isinstance(values, dict):
            raise CommandError(f"{path}: contexts.{name} must be a mapping")
        unknown = sorted(set(values) - set(CONTEXT_FIELDS))
        if unknown:
            raise CommandError(
                f"{path}: contexts.{name}.{unknown[0]} is not one of {', '.join(CONTEXT_FIELDS)}"
            )
        parsed[str(name)] = {str(key): str(value) for key, value in values.items()}
    current = document.get("current-context") or ""
    return ConfigFile(path, str(current), parsed)
