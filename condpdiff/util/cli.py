"""Command-line plumbing shared by the entry points: dataclass configs become ``--flags``."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import typing


def _parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean, got {text!r}")


def add_dataclass_args(parser: argparse.ArgumentParser, cls, prefix: str = "") -> None:
    """One ``--field-name`` per dataclass field, typed from its annotation, defaulting to the field
    default."""
    hints = typing.get_type_hints(cls)
    group = parser.add_argument_group(cls.__name__)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        optional = (
            origin in (typing.Union, getattr(__import__("types"), "UnionType", None))
            and type(None) in args
        )
        if optional:
            hint = next(a for a in args if a is not type(None))
            origin, args = typing.get_origin(hint), typing.get_args(hint)
        flag = "--" + prefix + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        kwargs = {"dest": prefix.replace("-", "_") + f.name, "default": default}
        if origin in (tuple, list):
            kwargs.update(nargs="*", type=args[0] if args and args[0] is not Ellipsis else str)
        elif hint is bool:
            kwargs.update(type=_parse_bool)
        else:
            kwargs.update(type=_none_or(hint) if optional else hint)
        group.add_argument(flag, **kwargs)


def _none_or(typ):
    def parse(text: str):
        return None if text.lower() in ("none", "null", "") else typ(text)

    parse.__name__ = typ.__name__
    return parse


def dataclass_from_args(cls, ns: argparse.Namespace, prefix: str = ""):
    values = {}
    for f in dataclasses.fields(cls):
        v = getattr(ns, prefix.replace("-", "_") + f.name)
        if isinstance(v, list):
            v = tuple(v)
        values[f.name] = v
    return cls(**values)


def setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
