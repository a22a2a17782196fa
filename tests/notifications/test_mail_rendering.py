"""Rendering mail templates in the sandbox: only the type's fixed variables, nothing else."""

from types import SimpleNamespace

import pytest

from notifications.events import MailType
from notifications.mail_context import context_for, sample_context, variables_for
from notifications.rendering import MailRenderError, render_mail

USER_ADDED_NAMES = "recipient_first_name, offer_name, products, portal_url, merchant_name"


def _template(subject="", body_text="", body_html="", type=MailType.USER_ADDED):
    return SimpleNamespace(type=type, subject=subject, body_text=body_text, body_html=body_html)


def _values(**overrides):
    return sample_context(MailType.USER_ADDED) | overrides


def test_render_mail_fills_in_the_variables_and_escapes_only_the_html():
    template = _template(
        subject="Welcome to {{ offer_name }}",
        body_text="Hello {{ recipient_first_name }}: {{ products|join(', ') }}",
        body_html="<p>{{ recipient_first_name }}</p>"
        "<ul>{% for p in products %}<li>{{ loop.index }}. {{ p }}</li>{% endfor %}</ul>",
    )

    subject, text, html = render_mail(
        template, _values(recipient_first_name="<Rita & Co>", products=["A<B>", "C"])
    )

    assert subject == "Welcome to Team Pro"
    assert text == "Hello <Rita & Co>: A<B>, C"
    assert html == "<p>&lt;Rita &amp; Co&gt;</p><ul><li>1. A&lt;B&gt;</li><li>2. C</li></ul>"


def test_the_subject_is_one_line_of_at_most_200_characters():
    template = _template(subject="  {{ offer_name }}\n\n  and   more\n", body_text="x")

    assert render_mail(template, _values())[0] == "Team Pro and more"
    assert len(render_mail(template, _values(offer_name="x" * 300))[0]) == 200


def test_values_outside_the_types_context_are_dropped_before_rendering():
    template = _template(subject="{{ offer_name }}", body_text="{{ secret }}")

    with pytest.raises(MailRenderError) as refused:
        render_mail(template, _values(secret="s3cr3t"))

    assert (refused.value.field, refused.value.message) == (
        "body_text",
        f"Unknown variable 'secret'; available: {USER_ADDED_NAMES}.",
    )


@pytest.mark.parametrize("name", ["settings", "config", "request", "range", "lipsum", "cycler"])
def test_settings_config_and_jinja_globals_are_unknown_variables(name):
    with pytest.raises(MailRenderError) as refused:
        render_mail(_template(subject="{{ " + name + " }}"), _values(**{name: "leak"}))

    assert refused.value.message == (f"Unknown variable '{name}'; available: {USER_ADDED_NAMES}.")


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            "{{ ''.__class__.__mro__ }}",
            "access to attribute '__class__' of 'str' object is unsafe.",
        ),
        (
            "{{ offer_name.__class__ }}",
            "access to attribute '__class__' of 'str' object is unsafe.",
        ),
        ("{{ products.append('x') }}", "access to attribute 'append' of 'list' object is unsafe."),
        ("{{ offer_name.upper() }}", "access to attribute 'upper' of 'str' object is unsafe."),
        (
            "{{ '{0.__class__}'.format(offer_name) }}",
            "access to attribute 'format' of 'str' object is unsafe.",
        ),
        (
            "{{ self.__init__ }}",
            "access to attribute '__init__' of 'TemplateReference' object is unsafe.",
        ),
        ("{{ 'x' * 100000 }}", "the result of * would be too long."),
        ("{{ products|join('x' * 5000) }}", "the result of join would be too long."),
        ("{{ '%s' % offer_name }}", "% formatting of strings is not available."),
    ],
)
def test_the_sandbox_refuses_python_internals_and_oversized_results(source, reason):
    with pytest.raises(MailRenderError) as refused:
        render_mail(_template(body_text="Hello\n" + source), _values())

    assert refused.value.field == "body_text"
    assert refused.value.message == f"Line 2: not allowed in mail templates: {reason}"


@pytest.mark.parametrize(
    "source", ["{% include 'admin/base.html' %}", "{% extends 'x' %}", "{% import 'x' as y %}"]
)
def test_includes_imports_and_extends_are_refused(source):
    with pytest.raises(MailRenderError) as refused:
        render_mail(_template(body_html=source), _values())

    assert refused.value.message == (
        "Line 1: include, import and extends are not available in mail templates."
    )


def test_only_a_few_filters_are_available():
    with pytest.raises(MailRenderError) as refused:
        render_mail(_template(body_html="<p>{{ offer_name|safe }}</p>"), _values())

    assert refused.value.message == (
        "Line 1: Unknown filter 'safe'; available: capitalize, d, default, e, escape, "
        "first, join, last, length, lower, title, trim, truncate, upper."
    )


def test_a_syntax_error_is_reported_with_its_line():
    with pytest.raises(MailRenderError) as refused:
        render_mail(_template(body_text="Hello,\n\n{{ offer_name }\n"), _values())

    assert (refused.value.field, refused.value.message) == (
        "body_text",
        "Line 3: unexpected '}'",
    )


def test_a_variable_the_emitter_did_not_give_is_named():
    values = _values()
    del values["portal_url"]

    with pytest.raises(MailRenderError) as refused:
        render_mail(_template(body_text="{{ portal_url }}"), values)

    assert refused.value.message == "No value was given for the variable 'portal_url'."


def test_every_mail_type_documents_its_variables_with_plain_sample_values():
    for mail_type in MailType.values:
        variables = variables_for(mail_type)
        names = [variable.name for variable in variables]
        assert len(names) == len(set(names)), mail_type
        assert names[-1] == "merchant_name", mail_type
        for variable in variables:
            assert str(variable.description), (mail_type, variable.name)
            for sample in (variable.sample, variable.sample_de):
                assert (
                    sample is None
                    or isinstance(sample, str | int)
                    or (isinstance(sample, list) and all(isinstance(s, str) for s in sample))
                ), (mail_type, variable.name)


def test_the_documented_variables_of_each_type():
    assert {t: [v.name for v in variables_for(t)] for t in MailType.values} == {
        "user_invited": [
            "recipient_first_name",
            "recipient_email",
            "inviter_name",
            "offer_name",
            "invitation_url",
            "invitation_code",
            "expires_at",
            "merchant_name",
        ],
        "user_added": [
            "recipient_first_name",
            "offer_name",
            "products",
            "portal_url",
            "merchant_name",
        ],
        "invitation_expiring": [
            "recipient_first_name",
            "offer_name",
            "invitation_url",
            "expires_at",
            "merchant_name",
        ],
        "invoice_issued": [
            "invoice_number",
            "total",
            "due_date",
            "invoice_url",
            "customer_name",
            "merchant_name",
        ],
        "payment_failed": [
            "invoice_number",
            "amount",
            "reason",
            "bank_name",
            "iban",
            "bic",
            "reference",
            "merchant_name",
        ],
        "payment_reminder": [
            "invoice_number",
            "amount",
            "reason",
            "next_attempt",
            "payment_methods_url",
            "merchant_name",
        ],
    }


def test_samples_follow_the_language_and_the_merchant_name_setting(settings):
    settings.KONTOR_MERCHANT_NAME = "Muster Verlag"

    german = sample_context(MailType.INVOICE_ISSUED, "de")
    english = sample_context(MailType.INVOICE_ISSUED, "en")

    assert (german["total"], german["due_date"]) == ("1.234,50 €", "14. April 2027")
    assert (english["total"], english["due_date"]) == ("€1,234.50", "April 14, 2027")
    assert german["merchant_name"] == english["merchant_name"] == "Muster Verlag"


def test_context_for_keeps_only_the_types_variables_and_fills_in_the_merchant(settings):
    settings.KONTOR_MERCHANT_NAME = "Muster Verlag"

    context = context_for(
        MailType.USER_ADDED, {"offer_name": "Team Pro", "password": "x", "products": ["A"]}
    )

    assert context == {
        "offer_name": "Team Pro",
        "products": ["A"],
        "merchant_name": "Muster Verlag",
    }
    assert context_for(MailType.USER_ADDED, {"merchant_name": "Other"})["merchant_name"] == "Other"
