"""Mail templates: refused on save unless they render, defaults, admin preview and actions."""

from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse

from notifications.events import MailType
from notifications.models import MailTemplate
from subscriptions.roles import sync_staff_roles

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_mail_templates():
    """The defaults come from a data migration; a transactional test elsewhere in the run
    empties the tables, so put them back (the migration's own function, idempotent)."""
    migration = import_module("notifications.migrations.0002_default_mail_templates")
    migration.create_defaults(django_apps, None)


USER_INVITED_NAMES = (
    "recipient_first_name, recipient_email, inviter_name, offer_name, invitation_url, "
    "invitation_code, expires_at, merchant_name"
)


def _add_url():
    return reverse("admin:notifications_mailtemplate_add")


def _preview_url(template, html=False):
    name = "preview_html" if html else "preview"
    return reverse(f"admin:notifications_mailtemplate_{name}", args=[template.pk])


def test_default_templates_exist_in_english_and_german_inactive_and_pass_validation():
    templates = MailTemplate.objects.all()

    assert sorted((t.type, t.language) for t in templates) == sorted(
        (mail_type, language) for mail_type in MailType.values for language in ("en", "de")
    )
    assert [t for t in templates if t.active] == []
    for template in templates:
        template.full_clean()  # raises if a default does not render with the samples
        assert template.body_html.startswith(f'<!DOCTYPE html>\n<html lang="{template.language}">')


def test_a_template_with_a_syntax_error_is_refused_on_its_field():
    template = MailTemplate.objects.get(type=MailType.USER_INVITED, language="en")
    template.body_text = "Hello,\n{% if recipient_first_name %}{{ recipient_first_name }\n"

    with pytest.raises(ValidationError) as refused:
        template.full_clean()

    assert refused.value.message_dict == {"body_text": ["Line 2: unexpected '}'"]}


def test_a_template_with_an_unknown_variable_is_refused_with_the_available_ones():
    template = MailTemplate(
        type=MailType.USER_INVITED,
        language="en",
        subject="Hi {{ first_name }}",
        body_text="{{ recipient_first_name }}",
        body_html="<p>{{ password }}</p>",
    )
    MailTemplate.objects.filter(type=MailType.USER_INVITED, language="en").delete()

    with pytest.raises(ValidationError) as refused:
        template.full_clean()

    assert refused.value.message_dict == {
        "subject": [f"Unknown variable 'first_name'; available: {USER_INVITED_NAMES}."],
        "body_html": [f"Unknown variable 'password'; available: {USER_INVITED_NAMES}."],
    }


def test_the_admin_add_form_refuses_a_broken_template_and_saves_nothing(client, staff_user):
    MailTemplate.objects.filter(type=MailType.USER_INVITED, language="en").delete()
    client.force_login(staff_user)

    response = client.post(
        _add_url(),
        {
            "type": MailType.USER_INVITED,
            "language": "en",
            "subject": "Invitation from {{ inviter }}",
            "body_text": "Hello\n\n{{ offer_name }",
            "body_html": "",
            "active": "on",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "subject": [f"Unknown variable 'inviter'; available: {USER_INVITED_NAMES}."],
        "body_text": ["Line 3: unexpected '}'"],
    }
    assert not MailTemplate.objects.filter(type=MailType.USER_INVITED, language="en").exists()


def test_the_admin_add_form_saves_a_template_that_renders(client, staff_user):
    MailTemplate.objects.filter(type=MailType.USER_ADDED, language="de").delete()
    client.force_login(staff_user)

    response = client.post(
        _add_url(),
        {
            "type": MailType.USER_ADDED,
            "language": "de",
            "subject": "Willkommen bei {{ offer_name }}",
            "body_text": "{{ products|join(', ') }}",
            "body_html": "",
        },
    )

    assert response.status_code == 302
    template = MailTemplate.objects.get(type=MailType.USER_ADDED, language="de")
    assert (template.subject, template.active) == ("Willkommen bei {{ offer_name }}", False)


def test_the_change_page_documents_the_types_variables_and_links_the_preview(client, staff_user):
    template = MailTemplate.objects.get(type=MailType.PAYMENT_FAILED, language="de")
    client.force_login(staff_user)

    response = client.get(reverse("admin:notifications_mailtemplate_change", args=[template.pk]))

    assert response.status_code == 200
    assert [v["placeholder"] for v in response.context["mail_variables"][0]["variables"]] == [
        "{{ invoice_number }}",
        "{{ amount }}",
        "{{ reason }}",
        "{{ bank_name }}",
        "{{ iban }}",
        "{{ bic }}",
        "{{ reference }}",
        "{{ merchant_name }}",
    ]
    assert len(response.context["mail_variables"]) == 1
    content = response.content.decode()
    assert "<code>{{ iban }}</code>" in content
    assert "Your IBAN, for payment by transfer." in content
    assert f'href="{_preview_url(template)}"' in content


def test_the_add_page_documents_the_variables_of_every_type(client, staff_user):
    client.force_login(staff_user)

    response = client.get(_add_url())

    assert [group["type"] for group in response.context["mail_variables"]] == [
        "User invited",
        "User added",
        "Invitation expiring",
        "Invoice issued",
        "Payment failed",
        "Payment retry reminder",
    ]


def test_the_preview_renders_the_saved_template_with_sample_values(client, staff_user):
    template = MailTemplate.objects.get(type=MailType.USER_INVITED, language="de")
    client.force_login(staff_user)

    page = client.get(_preview_url(template))
    html = client.get(_preview_url(template, html=True))

    assert page.status_code == 200
    assert page.context["subject"] == "Acme GmbH lädt Sie zu Team Pro ein"
    assert page.context["text"].startswith(
        "Hallo Rita,\n\nAcme GmbH hat Sie eingeladen, Team Pro von Kontor zu nutzen.\n"
    )
    assert "läuft am 31. März 2027 ab." in page.context["text"]
    assert '<iframe id="preview-html" sandbox="" width="100%" height="640"' in page.content.decode()
    assert html.status_code == 200
    assert html["Content-Type"] == "text/html; charset=utf-8"
    assert 'href="https://portal.example.com/portal/invitations/3f2c9a1e/"' in html.content.decode()
    assert "Einladung annehmen</a>" in html.content.decode()


def test_only_the_preview_html_may_be_framed_and_keeps_scripts_out(client, staff_user):
    template = MailTemplate.objects.get(type=MailType.INVOICE_ISSUED, language="en")
    client.force_login(staff_user)

    page = client.get(_preview_url(template))
    html = client.get(_preview_url(template, html=True))

    assert page["X-Frame-Options"] == "DENY"
    assert "style-src 'self'" in page["Content-Security-Policy"]
    assert html["X-Frame-Options"] == "SAMEORIGIN"
    parts = [part.strip().partition(" ") for part in html["Content-Security-Policy"].split(";")]
    directives = {name: value for name, _, value in parts}
    assert directives["script-src"] == "'none'"
    assert directives["style-src"] == "'unsafe-inline'"
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'self'"
    assert directives["sandbox"] == ""


def test_the_preview_is_for_staff_with_view_permission_only(client, django_user_model):
    sync_staff_roles()  # the role groups, in case a transactional test emptied the tables
    template = MailTemplate.objects.get(type=MailType.USER_ADDED, language="en")
    customer = django_user_model.objects.create_user(email="rita@example.com", password="pw")
    catalog_manager = django_user_model.objects.create_user(
        email="cm@kontor.example", password="pw", is_staff=True
    )
    catalog_manager.groups.add(Group.objects.get(name="Catalog manager"))
    support = django_user_model.objects.create_user(
        email="support@kontor.example", password="pw", is_staff=True
    )
    support.groups.add(Group.objects.get(name="Customer support"))

    anonymous = client.get(_preview_url(template, html=True))
    client.force_login(customer)
    as_customer = client.get(_preview_url(template))
    client.force_login(catalog_manager)
    as_catalog_manager = client.get(_preview_url(template))
    client.force_login(support)
    as_support = client.get(_preview_url(template))

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))
    assert as_customer.status_code == 302
    assert as_catalog_manager.status_code == 403
    assert as_support.status_code == 200


def test_the_preview_of_a_missing_template_is_not_found(client, staff_user):
    client.force_login(staff_user)

    response = client.get(reverse("admin:notifications_mailtemplate_preview", args=[999999]))

    assert response.status_code == 404


def test_activate_and_deactivate_switch_the_selected_templates(client, staff_user):
    chosen = MailTemplate.objects.filter(type=MailType.INVOICE_ISSUED)
    ids = [str(pk) for pk in chosen.values_list("pk", flat=True)]
    client.force_login(staff_user)
    url = reverse("admin:notifications_mailtemplate_changelist")

    activated = client.post(url, {"action": "activate", "_selected_action": ids}, follow=True)
    assert sorted(MailTemplate.objects.filter(active=True).values_list("type", "language")) == [
        ("invoice_issued", "de"),
        ("invoice_issued", "en"),
    ]
    deactivated = client.post(
        url, {"action": "deactivate", "_selected_action": ids[:1]}, follow=True
    )

    assert MailTemplate.objects.filter(active=True).count() == 1
    assert [str(m) for m in activated.context["messages"]] == [
        "2 templates activated: their e-mails are sent from now on."
    ]
    assert [str(m) for m in deactivated.context["messages"]] == [
        "1 template deactivated: its e-mails are no longer sent."
    ]


def test_the_template_list_shows_type_language_active_and_updated(client, staff_user):
    client.force_login(staff_user)

    response = client.get(
        reverse("admin:notifications_mailtemplate_changelist"), {"type__exact": "user_added"}
    )

    assert response.status_code == 200
    assert response.context["cl"].list_display == [
        "action_checkbox",
        "type",
        "language",
        "active",
        "updated_at",
    ]
    assert [(t.type, t.language) for t in response.context["cl"].result_list] == [
        ("user_added", "de"),
        ("user_added", "en"),
    ]
