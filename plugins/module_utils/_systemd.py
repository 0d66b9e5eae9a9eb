# -*- coding: utf-8 -*-
# Copyright (c) fakevpc developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""systemd unit files written from hostile strings: quoted by systemd's own rules, or refused (pure, no I/O).

A private module of the fakevpc.vpc collection: its interface may change without notice.

The rules (systemd.syntax(7) "Quoting", systemd.service(5) "Command lines", systemd.unit(5) "Specifiers"):

* A unit file is read line by line; a line ending in a backslash continues on the next one. A control
  character (a newline, a carriage return, ...) in a value would start a directive of its own: control
  characters are refused, never escaped.
* ``%`` starts a specifier in most values and in every command line: a literal one is written ``%%``.
* A command line is split into words; a word in double quotes keeps its spaces, and C escapes (``\\\\``,
  ``\\"``) are read inside it. A lone unquoted ``;`` separates two commands: every word is quoted, so an
  argument ``;`` stays an argument. ``$FOO`` and ``${FOO}`` are expanded at start: a literal ``$`` is ``$$``.
* The first word may start with the prefixes ``@ - : + !`` (even quoted: ``+`` runs the command as root
  outside ``User=``): an executable that starts with one of them is refused, as is one with ``$`` (the first
  word may not be a variable), with a quote or a backslash (systemd refuses those in an executable's name), or
  a path that is relative or not normalized (``.``, ``..``, ``//``).
* ``User=``: a POSIX user name (``[a-z_][a-z0-9_-]*[$]?``, at most 32 characters, the whole string).
"""

from __future__ import annotations

import re
import shlex

from ansible_collections.fakevpc.vpc.plugins.module_utils._validate import control_characters, fullmatch, is_int

USER_NAME = re.compile(r"[a-z_][a-z0-9_-]*[$]?")
USER_NAME_MAX = 32
EXEC_PREFIXES = "@-:+!"
_KEY = re.compile(r"[A-Z][A-Za-z0-9]*")
_SECTION = re.compile(r"[A-Z][A-Za-z]*")
_UNIT_NAME = re.compile(r"[A-Za-z0-9:_.@-]{1,251}\.(service|socket|target|mount|timer|path|device|slice|scope)")


class UnitError(ValueError):
    """A string that cannot go into a unit file as it is; the message says why (the caller names the key)."""


def _refuse_control(value):
    if not isinstance(value, str):
        raise UnitError("must be a string, not %r" % (value,))
    found = control_characters(value)
    if found:
        raise UnitError("contains control characters (%s): %r" % (", ".join(found), value))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UnitError("is not valid UTF-8 text: %r" % (value,))


def is_user_name(name):
    """True for a POSIX user name: [a-z_][a-z0-9_-]*[$]?, at most 32 characters, all of the string."""
    return fullmatch(USER_NAME, name) and len(name) <= USER_NAME_MAX


def is_unit_name(name):
    """True for a unit name of letters, digits and ':_.@-' with a known suffix (no spaces, no specifiers)."""
    return fullmatch(_UNIT_NAME, name)


def quote_word(word):
    """One word of a command line, double-quoted: its spaces, quotes, ';', '%' and '$' all stay literal."""
    _refuse_control(word)
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return '"%s"' % escaped


def split_command(command):
    """The words of a command given as a string (split as a POSIX shell splits, no shell runs) or a list."""
    if isinstance(command, list):
        words = command
    elif isinstance(command, str):
        _refuse_control(command)
        try:
            words = shlex.split(command)
        except ValueError as error:
            raise UnitError("cannot be split into words (%s): %r" % (error, command))
    else:
        raise UnitError("must be a command line (a string or a list of words), not %r" % (command,))
    for word in words:
        _refuse_control(word)
    if not words:
        raise UnitError("is empty")
    return list(words)


def exec_line(command):
    """The value of ExecStart= (and the like) that runs exactly these words, or UnitError.

    command: a string (split into words like a shell would, see split_command) or a list of words.
    """
    words = split_command(command)
    executable = words[0]
    if not executable or executable[0] in EXEC_PREFIXES:
        raise UnitError("executable %r is empty or starts with one of systemd's prefixes %s" % (
            executable, " ".join(EXEC_PREFIXES)))
    if "$" in executable:
        raise UnitError("executable %r contains '$' (the program cannot be a variable)" % (executable,))
    if any(char in executable for char in "\"'\\"):
        raise UnitError("executable %r contains a quote or a backslash, which systemd refuses there" % (executable,))
    if "/" in executable and not executable.startswith("/"):
        raise UnitError("executable %r is a relative path: give an absolute path or a bare program name" % (executable,))
    if "/" in executable and (executable.endswith("/") or any(
            part in ("", ".", "..") for part in executable.split("/")[1:])):
        raise UnitError("executable %r is not a normalized path (no '.', '..', '//' or final '/')" % (executable,))
    return " ".join(quote_word(word) for word in words)


def value(text):
    """A plain directive value (Description=, a path, ...): '%' doubled; control characters and a final
    backslash (a line continuation) refused."""
    if is_int(text):
        text = str(text)
    _refuse_control(text)
    if text.endswith("\\"):
        raise UnitError("ends with a backslash (a line continuation): %r" % (text,))
    return text.replace("%", "%%")


def user_value(name):
    """The value of User=, or UnitError when it is not a POSIX user name."""
    if not is_user_name(name):
        raise UnitError("%r is not a POSIX user name ([a-z_][a-z0-9_-]*[$]?, at most %d characters)"
                        % (name, USER_NAME_MAX))
    return name


def unit_list(names):
    """A space-separated list of unit names (After=, Wants=, ...), each checked by is_unit_name."""
    for name in names:
        if not is_unit_name(name):
            raise UnitError("%r is not a unit name" % (name,))
    return " ".join(names)


def render_unit(comments, sections):
    """The text of a unit file.

    comments: lines of the header (each becomes '# line'); sections: [(section, [(key, value), ...])], the
    values already rendered by value(), exec_line(), user_value() or unit_list() (checked again here: no
    control character reaches the file).
    """
    lines = []
    for comment in comments:
        _refuse_control(comment)
        lines.append("# %s" % comment if comment else "#")
    for position, (section, directives) in enumerate(sections):
        if not fullmatch(_SECTION, section):
            raise UnitError("section %r is not a section name" % (section,))
        if position or lines:
            lines.append("")
        lines.append("[%s]" % section)
        for key, text in directives:
            if not fullmatch(_KEY, key):
                raise UnitError("key %r is not a directive name" % (key,))
            _refuse_control(text)
            if text.endswith("\\"):
                raise UnitError("%s= ends with a backslash (a line continuation): %r" % (key, text))
            lines.append("%s=%s" % (key, text))
    return "\n".join(lines) + "\n"
