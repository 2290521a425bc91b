"""A form renderer that writes Django's stock widget templates in Python, for forms drawn on every page view.

Django renders each widget, and each option of a select or a list of check boxes, through its template engine:
the filter forms of the portfolio's table pages (about fifty options) took as long to draw as the rest of the page.
``WidgetRenderer`` writes the templates listed in ``_WRITERS`` as plain functions that produce exactly what the
templates do (tests/test_form_renderer.py compares them, byte for byte, for every filter form), and leaves any
other template to Django's engine, as the default renderer would.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.safestring import SafeData
from django.utils.timezone import template_localtime

from tracker.html import escaped

WIDGETS = "django/forms/widgets/"


def _text(value) -> str:
    """``{{ value }}`` in a template that escapes (django.template.base.render_value_in_context)."""
    if type(value) is str:  # what template_localtime and localize return as it is
        return html.escape(value)
    value = localize(template_localtime(value))
    if not issubclass(type(value), str):
        value = str(value)
    return escaped(value)


def _string(value) -> str:
    """``{{ value|stringformat:'s' }}``: the filter keeps text that is already safe as it is."""
    if isinstance(value, tuple):
        value = str(value)
    try:
        formatted = "%s" % value  # noqa: UP031 (the filter's own formatting)
    except (ValueError, TypeError):
        formatted = ""
    return formatted if isinstance(value, SafeData) else escaped(formatted)


def _attrs(widget: dict) -> str:
    """django/forms/widgets/attrs.html"""
    return "".join(
        f" {_text(name)}" if value is True else f' {_text(name)}="{_string(value)}"'
        for name, value in widget["attrs"].items()
        if value is not False
    )


def _input(widget: dict) -> str:
    """django/forms/widgets/input.html"""
    value = f' value="{_string(widget["value"])}"' if widget["value"] != None else ""  # noqa: E711 (as the template)
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}{_attrs(widget)}>\n'


def _input_file(widget: dict) -> str:
    """text.html, number.html, date.html and the other one-line files that include input.html."""
    return _input(widget) + "\n"


def _select(widget: dict, include: Callable[[dict], str]) -> str:
    """django/forms/widgets/select.html"""
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget)}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            parts.append("\n  " + include(option))
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>\n")
    return "".join(parts)


def _select_option(widget: dict) -> str:
    """django/forms/widgets/select_option.html"""
    return f'<option value="{_string(widget["value"])}"{_attrs(widget)}>{_text(widget["label"])}</option>\n'


def _multiple_input(widget: dict, include: Callable[[dict], str]) -> str:
    """django/forms/widgets/multiple_input.html (check boxes and radio buttons)."""
    attrs = widget["attrs"]
    parts = ["<div"]
    if attrs.get("id"):
        parts.append(f' id="{_text(attrs["id"])}"')
    if attrs.get("class"):
        parts.append(f' class="{_text(attrs["class"])}"')
    parts.append(">")
    for group, options, _index in widget["optgroups"]:
        if group:
            parts.append(f"\n  <div><label>{_text(group)}</label>")
        for option in options:
            parts.append("<div>\n    " + include(option) + "</div>")
        if group:
            parts.append("\n  </div>")
    parts.append("\n</div>\n")
    return "".join(parts)


def _input_option(widget: dict) -> str:
    """django/forms/widgets/input_option.html (one check box or radio button with its label)."""
    if not widget["wrap_label"]:
        return _input(widget) + "\n"
    label_for = f' for="{_text(widget["attrs"]["id"])}"' if widget["attrs"].get("id") else ""
    return f"<label{label_for}>{_input(widget)} {_text(widget['label'])}</label>\n"


def _range(widget: dict, include: Callable[[dict], str]) -> str:
    """django_filters/widgets/multiwidget.html (a from–to pair)."""
    return "".join(include(sub) + ("-" if n == 0 else "") for n, sub in enumerate(widget["subwidgets"])) + "\n"


def _plain(write: Callable[[dict], str]) -> Callable[[dict, Callable[[dict], str]], str]:
    return lambda widget, include: write(widget)


_WRITERS: dict[str, Callable[[dict, Callable[[dict], str]], str]] = {
    **{
        f"{WIDGETS}{name}.html": _plain(_input_file)
        for name in ("text", "number", "date", "hidden", "email", "search", "url", "tel", "password")
    },
    f"{WIDGETS}input.html": _plain(_input),
    f"{WIDGETS}select.html": _select,
    f"{WIDGETS}select_option.html": _plain(_select_option),
    f"{WIDGETS}checkbox_select.html": lambda widget, include: _multiple_input(widget, include) + "\n",
    f"{WIDGETS}radio.html": lambda widget, include: _multiple_input(widget, include) + "\n",
    f"{WIDGETS}multiple_input.html": _multiple_input,
    f"{WIDGETS}checkbox_option.html": _plain(lambda widget: _input_option(widget) + "\n"),
    f"{WIDGETS}radio_option.html": _plain(lambda widget: _input_option(widget) + "\n"),
    f"{WIDGETS}input_option.html": _plain(_input_option),
    "django_filters/widgets/multiwidget.html": _range,
}


class WidgetRenderer(DjangoTemplates):
    """Django's default form renderer, with the stock widget templates written in Python (see the module)."""

    def render(self, template_name, context, request=None):
        if template_name not in _WRITERS or set(context) != {"widget"}:
            return super().render(template_name, context, request=request)
        return self._write(template_name, context["widget"]).strip()

    def _write(self, template_name: str, widget: dict) -> str:
        """What ``{% include template_name %}`` writes for this widget (an option or a sub-widget included)."""
        write = _WRITERS.get(template_name)
        if write is None:
            return self.get_template(template_name).render({"widget": widget})
        return write(widget, self._include)

    def _include(self, widget: dict) -> str:
        return self._write(widget["template_name"], widget)
