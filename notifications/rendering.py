"""Rendering mail templates that staff write, in a Jinja2 sandbox.

What a template can reach is only its type's fixed context (notifications.mail_context):
no loader (so no include, import or extends), no globals (no range, lipsum, namespace …),
a short list of filters, and no attribute access at all except on a for loop's `loop`
(the context holds plain strings, numbers and lists, which need none), so `__class__`,
`append` and even `format` are refused; Jinja's immutable sandbox guards `loop` and the
operators. An unknown variable is an error
(StrictUndefined), found before rendering and named with the variables available.

Beyond reaching things, a template could exhaust memory (`'x' * 10**9`); the operators
that multiply sizes are intercepted and capped. Nested loops over long strings can still
burn CPU; templates are written by the merchant's staff, who are trusted that far.

HTML bodies are autoescaped; subject and text body are not (they are plain text).
"""

from __future__ import annotations

import operator
import traceback
from collections.abc import Collection, Mapping
from functools import cache
from typing import Any, Protocol

from django.utils.translation import gettext as _
from jinja2 import (
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    meta,
    nodes,
    pass_eval_context,
)
from jinja2.filters import do_join
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from notifications.mail_context import context_for, sample_context, variable_names

# Filters that neither reach outside the value nor grow it much.
ALLOWED_FILTERS = (
    "capitalize",
    "d",
    "default",
    "e",
    "escape",
    "first",
    "join",
    "last",
    "length",
    "lower",
    "title",
    "trim",
    "truncate",
    "upper",
)
# Longest string or list `*` may build.
MAX_PRODUCT = 10_000
MAX_SUBJECT_LENGTH = 200

FIELDS = ("subject", "body_text", "body_html")


class MailTemplateLike(Protocol):
    type: str
    subject: str
    body_text: str
    body_html: str


class MailRenderError(Exception):
    """A template that cannot be rendered; `field` is the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class _Refused(Exception):
    pass


class _MailEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return isinstance(obj, LoopContext) and super().is_safe_attribute(obj, attr, value)

    # Jinja hands out a sandboxed str.format before asking is_safe_attribute; mail
    # templates need no methods at all (and '{:>999999999}'.format(x) is a memory bomb).
    # Refused at once (not as an undefined value) so the message names the first step.
    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, LoopContext):
            return super().getattr(obj, attribute)
        raise SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe."
        )

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, str) and not isinstance(obj, LoopContext):
            return self.getattr(obj, argument)
        return super().getitem(obj, argument)

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "*":
            sizes = [len(x) for x in (left, right) if isinstance(x, str | list | tuple)]
            counts = [x for x in (left, right) if isinstance(x, int)]
            if sizes and counts and sizes[0] * max(counts[0], 0) > MAX_PRODUCT:
                raise SecurityError("the result of * would be too long.")
            return operator.mul(left, right)
        if operator_ == "**":
            if abs(right) > 64:
                raise SecurityError("exponents above 64 are not allowed.")
            return operator.pow(left, right)
        if isinstance(left, str):
            raise SecurityError("% formatting of strings is not available.")
        return operator.mod(left, right)


@pass_eval_context
def _join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    items = list(value)
    if len(str(d)) * len(items) > MAX_PRODUCT:
        raise SecurityError("the result of join would be too long.")
    return do_join(eval_ctx, items, d, attribute)


@cache
def _environment(*, autoescape: bool) -> _MailEnvironment:
    env = _MailEnvironment(autoescape=autoescape, undefined=StrictUndefined)
    env.globals.clear()
    env.filters = {name: env.filters[name] for name in ALLOWED_FILTERS} | {"join": _join}
    return env


def _line(exc: BaseException) -> int | None:
    """The template line an error happened on (Jinja rewrites tracebacks so that
    template frames carry template line numbers)."""
    lines = [
        f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<template>"
    ]
    return lines[-1] if lines else None


def _at_line(line: int | None, message: str) -> str:
    if line is None:
        return message
    return _("Line %(line)d: %(message)s") % {"line": line, "message": message}


def _check(
    env: _MailEnvironment, source: str, allowed: Collection[str], given: Collection[str]
) -> None:
    """Refuse, before any rendering, what the sandbox would only refuse while rendering."""
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        raise _Refused(_at_line(exc.lineno, exc.message or str(exc))) from exc
    for node in ast.find_all((nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)):
        raise _Refused(
            _at_line(
                node.lineno,
                _("include, import and extends are not available in mail templates."),
            )
        )
    for node in ast.find_all(nodes.Filter):
        if node.name not in env.filters:
            raise _Refused(
                _at_line(
                    node.lineno,
                    _("Unknown filter '%(name)s'; available: %(names)s.")
                    % {"name": node.name, "names": ", ".join(ALLOWED_FILTERS)},
                )
            )
    used = meta.find_undeclared_variables(ast)
    unknown = sorted(used - set(allowed))
    if unknown:
        raise _Refused(
            _("Unknown variable '%(name)s'; available: %(names)s.")
            % {"name": unknown[0], "names": ", ".join(allowed)}
        )
    missing = sorted(used - set(given))
    if missing:
        raise _Refused(_("No value was given for the variable '%(name)s'.") % {"name": missing[0]})


def _render(
    source: str, context: Mapping[str, Any], *, allowed: Collection[str], autoescape: bool
) -> str:
    env = _environment(autoescape=autoescape)
    _check(env, source, allowed, context.keys())
    try:
        return env.from_string(source).render(context)
    except SecurityError as exc:
        message = _("not allowed in mail templates: %(reason)s") % {"reason": exc}
        raise _Refused(_at_line(_line(exc), message)) from exc
    except TemplateError as exc:
        raise _Refused(_at_line(_line(exc), exc.message or str(exc))) from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise _Refused(_at_line(_line(exc), str(exc))) from exc


def _render_fields(
    template: MailTemplateLike, context: Mapping[str, Any]
) -> dict[str, str | MailRenderError]:
    allowed = variable_names(template.type)
    results: dict[str, str | MailRenderError] = {}
    for field in FIELDS:
        try:
            results[field] = _render(
                getattr(template, field) or "",
                context,
                allowed=allowed,
                autoescape=field == "body_html",
            )
        except _Refused as exc:
            results[field] = MailRenderError(field, str(exc))
    return results


def render_mail(template: MailTemplateLike, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of a template with the given values; only the type's
    variables are passed on. The subject is one line, at most 200 characters. Raises
    MailRenderError for the first part that does not render."""
    results = _render_fields(template, context_for(template.type, context))
    for result in results.values():
        if isinstance(result, MailRenderError):
            raise result
    subject = " ".join(str(results["subject"]).split())[:MAX_SUBJECT_LENGTH]
    return subject, str(results["body_text"]), str(results["body_html"])


def template_errors(template: MailTemplateLike, language: str = "en") -> dict[str, str]:
    """What is wrong with each part of a template, rendered with its type's samples:
    {field: message}, empty when all parts render."""
    context = sample_context(template.type, language)
    return {
        field: result.message
        for field, result in _render_fields(template, context).items()
        if isinstance(result, MailRenderError)
    }
