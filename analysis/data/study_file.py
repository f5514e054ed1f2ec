"""A study file read strictly: plain YAML only, every key once, every key's line remembered.

`read_settings` parses `study.yml` with PyYAML's safe loader and refuses, with the file and line:

- syntax errors;
- anchors and aliases (`&name`, `*name`): a settings file never needs them, and a chain of aliases
  (the "billion laughs") expands into gigabytes; refusing the first anchor answers at once;
- tags other than YAML's plain types (`!!python/object/apply:...`, `!custom`);
- a key given twice in one mapping (YAML would silently keep the last: `privacy:` twice, the
  second switching the small-cell rule off).

It returns the settings and the line of each key (`"privacy.min_cell" -> 12`), so that every
problem found later names its line (`locate`).
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

__all__ = ["StudyConfigError", "did_you_mean", "locate", "read_settings"]

#: The tags of plain YAML values (implicit or written out): all a study file needs.
_PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in
                        ("str", "int", "float", "bool", "null", "seq", "map", "timestamp"))


class StudyConfigError(ValueError):
    """A study.yml that cannot be used, with every problem listed (one line each)."""


class _Refused(yaml.MarkedYAMLError):
    """Something plain YAML allows but a study file does not (an anchor, a tag, a repeated key)."""

    def __init__(self, mark, problem: str):
        super().__init__(problem=problem, problem_mark=mark)


class _StrictLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(event.start_mark, f"YAML aliases (*{event.anchor}) are not allowed in a study file")
        if getattr(event, "anchor", None):
            raise _Refused(event.start_mark, f"YAML anchors (&{event.anchor}) are not allowed in a study file")
        return super().compose_node(parent, index)


def _key_text(node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else "?"


def _check(node, path: tuple[str, ...], lines: dict[str, int]) -> None:
    """Refuse non-plain tags and repeated keys; note the line of each key."""
    if node.tag not in _PLAIN_TAGS:
        raise _Refused(node.start_mark, f"the tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed "
                                        "in a study file (plain values, lists and mappings only)")
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            _check(key, path, {})
            name = _key_text(key)
            line = key.start_mark.line + 1
            if name in seen:
                where = ".".join((*path, name))
                raise _Refused(key.start_mark, f"{where}: given twice (first on line {seen[name]}); give each "
                                               "setting once")
            seen[name] = line
            lines[".".join((*path, name))] = line
            _check(value, (*path, name), lines)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check(item, path, lines)


def read_settings(path: Path) -> tuple[object, dict[str, int]]:
    """The study file's settings (None for an empty file) and the line of each key path."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise StudyConfigError(f"{path}: not UTF-8 text (byte {error.start}); save the study file as UTF-8") from None
    except OSError as error:
        raise StudyConfigError(f"{path}: cannot be read ({error.strerror or error})") from None
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines: dict[str, int] = {}
        _check(node, (), lines)
        return loader.construct_document(node), lines
    except yaml.MarkedYAMLError as error:
        # where the construct began (a list never closed) is more telling than where parsing gave up
        mark = error.context_mark or error.problem_mark
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = str(error.problem or "")
        if error.context:
            problem = f"{error.context}: {problem}"
        if error.context_mark is not None and error.problem_mark is not None \
                and error.problem_mark.line != error.context_mark.line:
            problem += f" (line {error.problem_mark.line + 1})"
        raise StudyConfigError(f"{path}{where}: {problem}") from None
    except yaml.YAMLError as error:
        raise StudyConfigError(f"{path}: not a YAML file ({error})") from None
    finally:
        loader.dispose()


_PROBLEM_KEY = re.compile(r"^([^\s:]+):")


def locate(problem: str, lines: Mapping[str, int]) -> str:
    """'privacy.min_cell: ...' -> 'line 12: privacy.min_cell: ...': the line of the longest key path
    the problem starts with (a problem about a missing key has none)."""
    match = _PROBLEM_KEY.match(problem)
    if match:
        parts = match.group(1).split(".")
        for end in range(len(parts), 0, -1):
            line = lines.get(".".join(parts[:end]))
            if line is not None:
                return f"line {line}: {problem}"
    return problem


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """'; did you mean min_cell?' for the nearest choice, or '' when none is near."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""
