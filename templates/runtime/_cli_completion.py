"""``runcomfy completion bash|zsh|fish``: shell completion scripts made from the command's own parser.

The parser tree is read once (:func:`commands`): for each command path (``""``, ``"models"``,
``"models list"``...) its subcommands, its options, which options take a value (and their choices), and
whether its first positional is a model id. Each shell's script is that table plus a small fixed driver;
nothing else is needed at completion time (no Python is started). Model ids complete from this client's
catalog; a model's field flags are not completed (``runcomfy run MODEL --help`` lists them).
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
from collections.abc import Iterator

__all__ = ["commands", "script"]

FILE_OPTIONS = frozenset({"--input-file", "--output-dir", "--out", "--inputs"})
MODEL_POSITIONAL = "MODEL_ID"


@dataclasses.dataclass
class Command:
    """One command path's words: subcommands, options, the options taking a value (with their choices)."""

    subcommands: list[str]
    options: list[str]
    valued: dict[str, list[str]]
    takes_model: bool


def commands(parser: argparse.ArgumentParser) -> dict[str, Command]:
    """Every command path of ``parser`` (space-separated, ``""`` for the top) and its :class:`Command`."""
    return dict(_walk(parser, ""))


def _walk(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, Command]]:
    options: list[str] = []
    valued: dict[str, list[str]] = {}
    subcommands: dict[str, argparse.ArgumentParser] = {}
    takes_model = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            subcommands.update((name, sub) for name, sub in action.choices.items() if action.choices)
        elif action.option_strings:
            options += action.option_strings
            if action.nargs != 0:
                for option in action.option_strings:
                    valued[option] = [str(choice) for choice in action.choices or ()]
        elif action.metavar == MODEL_POSITIONAL:
            takes_model = True
        elif action.choices:  # a positional of a few words (`completion bash|zsh|fish`)
            subcommands.update((str(choice), argparse.ArgumentParser(add_help=False)) for choice in action.choices)
    yield path, Command(sorted(subcommands), sorted(set(options)), valued, takes_model)
    for name, sub in subcommands.items():
        if sub.add_help:  # `emulator` passes everything on: nothing to complete
            yield from _walk(sub, f"{path} {name}".strip())


def script(shell: str, parser: argparse.ArgumentParser, *, models: list[str]) -> str:
    """The completion script of ``shell`` (``bash``, ``zsh`` or ``fish``)."""
    table = commands(parser)
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](table, models)


def _words(words: list[str]) -> str:
    return shlex.quote(" ".join(words))


def _transitions(table: dict[str, Command]) -> list[tuple[str, str, str]]:
    """``(path, word, next path)`` for each subcommand."""
    return [(path, name, f"{path} {name}".strip()) for path, command in table.items() for name in command.subcommands]


def _case_lines(table: dict[str, Command], models: list[str], indent: str) -> list[str]:
    """The ``case "$cmdpath" in`` branches (bash and zsh share them) setting ``subs``, ``opts`` and ``models``."""
    lines = []
    for path, command in table.items():
        model_words = _words(models) if command.takes_model else "''"
        lines.append(
            f"{indent}{shlex.quote(path)}) subs={_words(command.subcommands)}; opts={_words(command.options)};"
            f" models={model_words} ;;"
        )
    return lines


def _value_lines(table: dict[str, Command], indent: str, *, files: str) -> list[str]:
    """The ``case "$prev" in`` branches: an option's choices, a file, or nothing to offer."""
    valued: dict[str, list[str]] = {}
    for command in table.values():
        valued.update(command.valued)
    lines = []
    for option, choices in sorted(valued.items()):
        if choices:
            lines.append(f"{indent}{option}) values={_words(choices)}; return_values=1 ;;")
        elif option in FILE_OPTIONS:
            lines.append(f"{indent}{option}) {files} ;;")
        else:
            lines.append(f"{indent}{option}) return 0 ;;")
    return lines


def _skip_lines(table: dict[str, Command], indent: str) -> list[str]:
    """A ``case "$word" in`` branch skipping the value after an option that takes one."""
    valued = sorted({option for command in table.values() for option in command.valued})
    return [f"{indent}{'|'.join(valued)}) ((i++)); continue ;;"] if valued else []


def _path_lines(table: dict[str, Command], indent: str) -> list[str]:
    return [
        f"{indent}{shlex.quote(f'{path}|{word}')}) cmdpath={shlex.quote(target)} ;;"
        for path, word, target in _transitions(table)
    ]


def _bash(table: dict[str, Command], models: list[str]) -> str:
    lines = [
        "# bash completion for runcomfy (made by `runcomfy completion bash`)",
        "# install: runcomfy completion bash > ~/.local/share/bash-completion/completions/runcomfy",
        "_runcomfy() {",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '    local cmdpath="" word i subs opts models values return_values=0 positional=0',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        word="${COMP_WORDS[i]}"',
        '        case "$word" in',
        *_skip_lines(table, "            "),
        "        esac",
        '        case "$cmdpath|$word" in',
        *_path_lines(table, "            "),
        '            *) [[ "$word" != -* ]] && positional=1 ;;',
        "        esac",
        "    done",
        '    case "$prev" in',
        *_value_lines(table, "        ", files='COMPREPLY=($(compgen -f -- "$cur")); return 0'),
        "    esac",
        '    if [[ "$return_values" == 1 ]]; then COMPREPLY=($(compgen -W "$values" -- "$cur")); return 0; fi',
        '    case "$cmdpath" in',
        *_case_lines(table, models, "        "),
        "        *) subs=''; opts=''; models='' ;;",
        "    esac",
        '    if [[ "$cur" == -* ]]; then',
        '        COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
        '    elif [[ -n "$models" && "$positional" == 0 ]]; then',
        '        COMPREPLY=($(compgen -W "$models" -- "$cur"))',
        "    else",
        '        COMPREPLY=($(compgen -W "$subs" -- "$cur"))',
        "    fi",
        "}",
        "complete -F _runcomfy runcomfy",
    ]
    return "\n".join(lines) + "\n"


def _zsh(table: dict[str, Command], models: list[str]) -> str:
    lines = [
        "#compdef runcomfy",
        "# zsh completion for runcomfy (made by `runcomfy completion zsh`)",
        '# install: runcomfy completion zsh > "${fpath[1]}/_runcomfy"',
        "_runcomfy() {",
        '    local cmdpath="" word i subs opts models values return_values=0 positional=0',
        '    local prev="${words[CURRENT-1]}" cur="${words[CURRENT]}"',
        "    for ((i = 2; i < CURRENT; i++)); do",
        '        word="${words[i]}"',
        '        case "$word" in',
        *_skip_lines(table, "            "),
        "        esac",
        '        case "$cmdpath|$word" in',
        *_path_lines(table, "            "),
        '            *) [[ "$word" != -* ]] && positional=1 ;;',
        "        esac",
        "    done",
        '    case "$prev" in',
        *_value_lines(table, "        ", files="_files; return 0"),
        "    esac",
        '    if [[ "$return_values" == 1 ]]; then compadd -- ${=values}; return 0; fi',
        '    case "$cmdpath" in',
        *_case_lines(table, models, "        "),
        "        *) subs=''; opts=''; models='' ;;",
        "    esac",
        '    if [[ "$cur" == -* ]]; then',
        "        compadd -- ${=opts}",
        '    elif [[ -n "$models" && "$positional" == 0 ]]; then',
        "        compadd -- ${=models}",
        "    else",
        "        compadd -- ${=subs}",
        "    fi",
        "}",
        'if [[ "${funcstack[1]}" == "_runcomfy" ]]; then _runcomfy "$@"; else compdef _runcomfy runcomfy; fi',
    ]
    return "\n".join(lines) + "\n"


def _fish(table: dict[str, Command], models: list[str]) -> str:
    lines = [
        "# fish completion for runcomfy (made by `runcomfy completion fish`)",
        "# install: runcomfy completion fish > ~/.config/fish/completions/runcomfy.fish",
        "complete -c runcomfy -f",
    ]
    top = table[""]
    lines.append(f"complete -c runcomfy -n __fish_use_subcommand -a {_words(top.subcommands)}")
    for path, command in table.items():
        if not path:
            condition = "__fish_use_subcommand"
        else:
            words = path.split()
            condition = " ; and ".join(f"__fish_seen_subcommand_from {shlex.quote(word)}" for word in words)
            if command.subcommands:
                subs = " ".join(shlex.quote(sub) for sub in command.subcommands)
                unseen = f"{condition} ; and not __fish_seen_subcommand_from {subs}"
                lines.append(f"complete -c runcomfy -n {shlex.quote(unseen)} -a {_words(command.subcommands)}")
        if command.takes_model:
            lines.append(f"complete -c runcomfy -n {shlex.quote(condition)} -a {_words(models)}")
        for option in command.options:
            flag = f"-l {shlex.quote(option[2:])}" if option.startswith("--") else f"-s {shlex.quote(option[1:])}"
            extra = ""
            if option in command.valued:
                choices = command.valued[option]
                extra = f" -x -a {_words(choices)}" if choices else (" -r -F" if option in FILE_OPTIONS else " -x")
            lines.append(f"complete -c runcomfy -n {shlex.quote(condition)} {flag}{extra}")
    return "\n".join(lines) + "\n"
