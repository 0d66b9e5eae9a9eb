# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every version_added (modules, filters, roles' entry points and options) agrees with galaxy.yml and the
changelog: a module, filter or role listed as new in a release of changelogs/changelog.yaml says that release;
one listed in none is new in this release and says galaxy.yml's version; an option says a released version or
this one. galaxy.yml's version is the latest release or the one being prepared after it.
Usage: python scripts/check-version-added.py [COLLECTION_ROOT]"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import yaml


def _version(text):
    return tuple(int(part) for part in str(text).split("."))


def _show(version):
    return ".".join(map(str, version))


def _documentation(path):
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DOCUMENTATION" for t in node.targets):
            return yaml.safe_load(node.value.value)
    return None


def _options(options, where):
    """(what, version_added) of every option and suboption that has one."""
    for name, spec in (options or {}).items():
        if "version_added" in spec:
            yield f"{where} option {name}", spec["version_added"]
        yield from _options(spec.get("suboptions"), f"{where} option {name}")


def things(root):
    """(what, kind, name, version_added or None) of every module, filter, role entry point and option."""
    for kind, directory in (("module", "plugins/modules"), ("filter", "plugins/filter")):
        for path in sorted((root / directory).glob("*.py")):
            if path.name == "__init__.py":
                continue
            doc = _documentation(path)
            if doc is None:
                if kind == "filter":
                    continue  # a FilterModule file whose filters are documented elsewhere
                yield f"{kind} {path.stem}", (kind, path.stem), None
                continue
            yield f"{kind} {doc.get('name', path.stem)}", (kind, doc.get("name", path.stem)), doc.get("version_added")
            for what, version in _options(doc.get("options"), f"{kind} {path.stem}"):
                yield what, None, version
    for spec_file in sorted(root.glob("roles/*/meta/argument_specs.yml")):
        role = spec_file.parents[1].name
        for entry, spec in (yaml.safe_load(spec_file.read_text())["argument_specs"] or {}).items():
            key = ("role", role) if entry == "main" else None
            yield f"role {role} entry point {entry}", key, spec.get("version_added")
            for what, version in _options(spec.get("options"), f"role {role}:{entry}"):
                yield what, None, version


def main(root):
    galaxy = _version(yaml.safe_load((root / "galaxy.yml").read_text())["version"])
    changelog = yaml.safe_load((root / "changelogs" / "changelog.yaml").read_text())
    releases = sorted((_version(v), data) for v, data in (changelog.get("releases") or {}).items())
    released = {version for version, _data in releases}
    errors = []
    if releases and galaxy < releases[-1][0]:
        errors.append(f"galaxy.yml's version {_show(galaxy)} is older than the latest release {_show(releases[-1][0])}")
    new_in = {}
    for version, data in releases:
        for module in data.get("modules") or []:
            new_in[("module", module["name"])] = version
        for kind, plugins in (data.get("plugins") or {}).items():
            for plugin in plugins:
                new_in[(kind, plugin["name"])] = version
        for kind, objects in (data.get("objects") or {}).items():
            for obj in objects:
                new_in[(kind, obj["name"])] = version
    for what, key, version_added in things(root):
        if version_added is None:
            if key is not None:
                errors.append(f"{what}: no version_added")
            continue
        version = _version(version_added)
        if key is not None:
            expected = new_in.get(key, galaxy)
            if version != expected:
                errors.append(f"{what}: version_added {version_added}, but it is new in "
                              f"{_show(expected)} (changelogs/changelog.yaml, galaxy.yml)")
        elif version not in released and version != galaxy:
            errors.append(f"{what}: version_added {version_added} is neither a release nor galaxy.yml's "
                          f"{_show(galaxy)}")
    for error in errors:
        print(f"check-version-added: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])))
