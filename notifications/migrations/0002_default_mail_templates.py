"""Default mail templates: English and German for every mail type, all INACTIVE.

Sending is the merchant's opt-in: staff read (and adapt) a template, then activate it.
Existing templates are left alone. The texts use only each type's documented variables
(notifications/mail_context.py); tests/notifications/test_mail_templates.py checks that
every default passes the validation a template gets on save.
"""

from django.db import migrations

LAYOUT = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{{{ merchant_name }}}}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f5f7;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background-color:#f4f5f7;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:600px;background-color:#ffffff;border:1px solid #e4e7eb;border-radius:6px;font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#1f2933;">
<tr><td style="padding:20px 32px;border-bottom:1px solid #e4e7eb;font-size:18px;font-weight:bold;">{{{{ merchant_name }}}}</td></tr>
<tr><td style="padding:28px 32px;">
{content}
</td></tr>
<tr><td style="padding:16px 32px;border-top:1px solid #e4e7eb;font-size:12px;color:#616e7c;">{footer}</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
"""
FOOTER = {
    "en": "This is an automated message from {{ merchant_name }}.",
    "de": "Dies ist eine automatisch versandte Nachricht von {{ merchant_name }}.",
}
P = '<p style="margin:0 0 16px;">'
BUTTON = (
    '<p style="margin:24px 0;"><a href="{url}" style="display:inline-block;padding:12px 20px;'
    "background-color:#1f5fbf;color:#ffffff;text-decoration:none;border-radius:4px;"
    'font-weight:bold;">{label}</a></p>'
)
# A long link may break anywhere, or it widens the message past a phone's screen.
LINK = '<a href="{url}" style="color:#1f5fbf;word-break:break-all;">{url}</a>'
SMALL = '<p style="margin:0 0 16px;font-size:13px;color:#616e7c;">'
TABLE = '<table role="presentation" cellpadding="0" cellspacing="0" style="margin:0 0 16px;">'
ROW = '<tr><td style="padding:2px 16px 2px 0;color:#616e7c;">{label}</td><td style="padding:2px 0;font-weight:bold;">{value}</td></tr>'

GREETING = {
    "en": "{% if recipient_first_name %}Hello {{ recipient_first_name }},{% else %}Hello,{% endif %}",
    "de": "{% if recipient_first_name %}Hallo {{ recipient_first_name }},{% else %}Guten Tag,{% endif %}",
}
REGARDS = {"en": "Kind regards", "de": "Mit freundlichen Grüßen"}


def _rows(rows):
    return TABLE + "".join(ROW.format(label=label, value=value) for label, value in rows) + "</table>"


def _signature(lang):
    return f"{P}{REGARDS[lang]}<br>{{{{ merchant_name }}}}</p>"


TEMPLATES = {
    ("user_invited", "en"): {
        "subject": "{{ inviter_name }} invites you to {{ offer_name }}",
        "body_text": f"""{GREETING["en"]}

{{{{ inviter_name }}}} has invited you to use {{{{ offer_name }}}} from {{{{ merchant_name }}}}.

Accept the invitation here:
{{{{ invitation_url }}}}

Or enter the invitation code {{{{ invitation_code }}}} in the portal. The invitation is for {{{{ recipient_email }}}} and expires on {{{{ expires_at }}}}.

If you were not expecting this invitation, you can ignore this e-mail.

{REGARDS["en"]}
{{{{ merchant_name }}}}
""",
        "content": f"""{P}{GREETING["en"]}</p>
{P}{{{{ inviter_name }}}} has invited you to use <strong>{{{{ offer_name }}}}</strong> from {{{{ merchant_name }}}}.</p>
{BUTTON.format(url="{{ invitation_url }}", label="Accept the invitation")}
{P}Or enter the invitation code <strong>{{{{ invitation_code }}}}</strong> in the portal. The invitation is for {{{{ recipient_email }}}} and expires on {{{{ expires_at }}}}.</p>
{SMALL}If the button does not work, copy this link into your browser:<br>{LINK.format(url="{{ invitation_url }}")}</p>
{SMALL}If you were not expecting this invitation, you can ignore this e-mail.</p>
{_signature("en")}""",
    },
    ("user_invited", "de"): {
        "subject": "{{ inviter_name }} lädt Sie zu {{ offer_name }} ein",
        "body_text": f"""{GREETING["de"]}

{{{{ inviter_name }}}} hat Sie eingeladen, {{{{ offer_name }}}} von {{{{ merchant_name }}}} zu nutzen.

Nehmen Sie die Einladung hier an:
{{{{ invitation_url }}}}

Oder geben Sie im Portal den Einladungscode {{{{ invitation_code }}}} ein. Die Einladung gilt für {{{{ recipient_email }}}} und läuft am {{{{ expires_at }}}} ab.

Falls Sie diese Einladung nicht erwartet haben, können Sie diese E-Mail ignorieren.

{REGARDS["de"]}
{{{{ merchant_name }}}}
""",
        "content": f"""{P}{GREETING["de"]}</p>
{P}{{{{ inviter_name }}}} hat Sie eingeladen, <strong>{{{{ offer_name }}}}</strong> von {{{{ merchant_name }}}} zu nutzen.</p>
{BUTTON.format(url="{{ invitation_url }}", label="Einladung annehmen")}
{P}Oder geben Sie im Portal den Einladungscode <strong>{{{{ invitation_code }}}}</strong> ein. Die Einladung gilt für {{{{ recipient_email }}}} und läuft am {{{{ expires_at }}}} ab.</p>
{SMALL}Falls die Schaltfläche nicht funktioniert, kopieren Sie diesen Link in Ihren Browser:<br>{LINK.format(url="{{ invitation_url }}")}</p>
{SMALL}Falls Sie diese Einladung nicht erwartet haben, können Sie diese E-Mail ignorieren.</p>
{_signature("de")}""",
    },
    ("user_added", "en"): {
        "subject": "You now have access to {{ offer_name }}",
        "body_text": f"""{GREETING["en"]}

You have been added to {{{{ offer_name }}}} from {{{{ merchant_name }}}}.
{{% if products %}}
You now have access to:
{{% for product in products %}}- {{{{ product }}}}
{{% endfor %}}{{% endif %}}
Sign in to the portal to get started:
{{{{ portal_url }}}}

{REGARDS["en"]}
{{{{ merchant_name }}}}
""",
        "content": f"""{P}{GREETING["en"]}</p>
{P}You have been added to <strong>{{{{ offer_name }}}}</strong> from {{{{ merchant_name }}}}.</p>
{{% if products %}}{P}You now have access to:</p>
<ul style="margin:0 0 16px;padding-left:20px;">{{% for product in products %}}<li>{{{{ product }}}}</li>{{% endfor %}}</ul>{{% endif %}}
{BUTTON.format(url="{{ portal_url }}", label="Open the portal")}
{_signature("en")}""",
    },
    ("user_added", "de"): {
        "subject": "Sie haben jetzt Zugang zu {{ offer_name }}",
        "body_text": f"""{GREETING["de"]}

Sie wurden zu {{{{ offer_name }}}} von {{{{ merchant_name }}}} hinzugefügt.
{{% if products %}}
Sie haben jetzt Zugang zu:
{{% for product in products %}}- {{{{ product }}}}
{{% endfor %}}{{% endif %}}
Melden Sie sich im Portal an, um loszulegen:
{{{{ portal_url }}}}

{REGARDS["de"]}
{{{{ merchant_name }}}}
""",
        "content": f"""{P}{GREETING["de"]}</p>
{P}Sie wurden zu <strong>{{{{ offer_name }}}}</strong> von {{{{ merchant_name }}}} hinzugefügt.</p>
{{% if products %}}{P}Sie haben jetzt Zugang zu:</p>
<ul style="margin:0 0 16px;padding-left:20px;">{{% for product in products %}}<li>{{{{ product }}}}</li>{{% endfor %}}</ul>{{% endif %}}
{BUTTON.format(url="{{ portal_url }}", label="Zum Portal")}
{_signature("de")}""",
    },
    ("invoice_issued", "en"): {
        "subject": "Your invoice {{ invoice_number }} from {{ merchant_name }}",
        "body_text": f"""Hello,

Your invoice {{{{ invoice_number }}}} for {{{{ customer_name }}}} is ready.

Total: {{{{ total }}}}
Due date: {{{{ due_date }}}}

You can view and download the invoice here:
{{{{ invoice_url }}}}

Thank you for your business.

{REGARDS["en"]}
{{{{ merchant_name }}}}
""",
        "content": f"""{P}Hello,</p>
{P}Your invoice <strong>{{{{ invoice_number }}}}</strong> for {{{{ customer_name }}}} is ready.</p>
{_rows([("Total", "{{ total }}"), ("Due date", "{{ due_date }}")])}
{BUTTON.format(url="{{ invoice_url }}", label="View the invoice")}
{P}Thank you for your business.</p>
{_signature("en")}""",
    },
    ("invoice_issued", "de"): {
        "subject": "Ihre Rechnung {{ invoice_number }} von {{ merchant_name }}",
        "body_text": f"""Guten Tag,

Ihre Rechnung {{{{ invoice_number }}}} für {{{{ customer_name }}}} steht bereit.

Gesamtbetrag: {{{{ total }}}}
Fällig am: {{{{ due_date }}}}

Sie können die Rechnung hier ansehen und herunterladen:
{{{{ invoice_url }}}}

Vielen Dank für Ihr Vertrauen.

{REGARDS["de"]}
{{{{ merchant_name }}}}
""",
        "content": f"""{P}Guten Tag,</p>
{P}Ihre Rechnung <strong>{{{{ invoice_number }}}}</strong> für {{{{ customer_name }}}} steht bereit.</p>
{_rows([("Gesamtbetrag", "{{ total }}"), ("Fällig am", "{{ due_date }}")])}
{BUTTON.format(url="{{ invoice_url }}", label="Rechnung ansehen")}
{P}Vielen Dank für Ihr Vertrauen.</p>
{_signature("de")}""",
    },
    ("payment_failed", "en"): {
        "subject": "Payment for invoice {{ invoice_number }} failed",
        "body_text": f"""Hello,

We could not collect the payment of {{{{ amount }}}} for invoice {{{{ invoice_number }}}}.{{% if reason %}} Reason: {{{{ reason }}}}{{% endif %}}

Please transfer the amount to our account:

Bank: {{{{ bank_name }}}}
IBAN: {{{{ iban }}}}
BIC: {{{{ bic }}}}
Reference: {{{{ reference }}}}

Please always give the reference so that we can match your payment. If you have already paid, please disregard this e-mail.

{REGARDS["en"]}
{{{{ merchant_name }}}}
""",
        "content": f"""{P}Hello,</p>
{P}We could not collect the payment of <strong>{{{{ amount }}}}</strong> for invoice {{{{ invoice_number }}}}.{{% if reason %}} Reason: {{{{ reason }}}}{{% endif %}}</p>
{P}Please transfer the amount to our account:</p>
{_rows([("Bank", "{{ bank_name }}"), ("IBAN", "{{ iban }}"), ("BIC", "{{ bic }}"), ("Reference", "{{ reference }}")])}
{P}Please always give the reference so that we can match your payment. If you have already paid, please disregard this e-mail.</p>
{_signature("en")}""",
    },
    ("payment_failed", "de"): {
        "subject": "Zahlung für Rechnung {{ invoice_number }} fehlgeschlagen",
        "body_text": f"""Guten Tag,

leider konnten wir den Betrag von {{{{ amount }}}} für die Rechnung {{{{ invoice_number }}}} nicht einziehen.{{% if reason %}} Grund: {{{{ reason }}}}{{% endif %}}

Bitte überweisen Sie den Betrag auf unser Konto:

Bank: {{{{ bank_name }}}}
IBAN: {{{{ iban }}}}
BIC: {{{{ bic }}}}
Verwendungszweck: {{{{ reference }}}}

Bitte geben Sie immer den Verwendungszweck an, damit wir Ihre Zahlung zuordnen können. Falls Sie bereits bezahlt haben, betrachten Sie diese E-Mail bitte als gegenstandslos.

{REGARDS["de"]}
{{{{ merchant_name }}}}
""",
        "content": f"""{P}Guten Tag,</p>
{P}leider konnten wir den Betrag von <strong>{{{{ amount }}}}</strong> für die Rechnung {{{{ invoice_number }}}} nicht einziehen.{{% if reason %}} Grund: {{{{ reason }}}}{{% endif %}}</p>
{P}Bitte überweisen Sie den Betrag auf unser Konto:</p>
{_rows([("Bank", "{{ bank_name }}"), ("IBAN", "{{ iban }}"), ("BIC", "{{ bic }}"), ("Verwendungszweck", "{{ reference }}")])}
{P}Bitte geben Sie immer den Verwendungszweck an, damit wir Ihre Zahlung zuordnen können. Falls Sie bereits bezahlt haben, betrachten Sie diese E-Mail bitte als gegenstandslos.</p>
{_signature("de")}""",
    },
    ("payment_reminder", "en"): {
        "subject": "Payment for invoice {{ invoice_number }} failed: we will try again",
        "body_text": f"""Hello,

We could not collect the payment of {{{{ amount }}}} for invoice {{{{ invoice_number }}}}.{{% if reason %}} Reason: {{{{ reason }}}}{{% endif %}}

{{% if next_attempt %}}We will try again on {{{{ next_attempt }}}}. {{% endif %}}If your payment details have changed, please update them here:
{{{{ payment_methods_url }}}}

If you have already paid, please disregard this e-mail.

{REGARDS["en"]}
{{{{ merchant_name }}}}
""",
        "content": f"""{P}Hello,</p>
{P}We could not collect the payment of <strong>{{{{ amount }}}}</strong> for invoice {{{{ invoice_number }}}}.{{% if reason %}} Reason: {{{{ reason }}}}{{% endif %}}</p>
{P}{{% if next_attempt %}}We will try again on {{{{ next_attempt }}}}. {{% endif %}}If your payment details have changed, please update them:</p>
{BUTTON.format(url="{{ payment_methods_url }}", label="Update payment method")}
{SMALL}If you have already paid, please disregard this e-mail.</p>
{_signature("en")}""",
    },
    ("payment_reminder", "de"): {
        "subject": "Zahlung für Rechnung {{ invoice_number }} fehlgeschlagen: neuer Versuch folgt",
        "body_text": f"""Guten Tag,

leider konnten wir den Betrag von {{{{ amount }}}} für die Rechnung {{{{ invoice_number }}}} nicht einziehen.{{% if reason %}} Grund: {{{{ reason }}}}{{% endif %}}

{{% if next_attempt %}}Wir versuchen es am {{{{ next_attempt }}}} erneut. {{% endif %}}Falls sich Ihre Zahlungsdaten geändert haben, aktualisieren Sie sie bitte hier:
{{{{ payment_methods_url }}}}

Falls Sie bereits bezahlt haben, betrachten Sie diese E-Mail bitte als gegenstandslos.

{REGARDS["de"]}
{{{{ merchant_name }}}}
""",
        "content": f"""{P}Guten Tag,</p>
{P}leider konnten wir den Betrag von <strong>{{{{ amount }}}}</strong> für die Rechnung {{{{ invoice_number }}}} nicht einziehen.{{% if reason %}} Grund: {{{{ reason }}}}{{% endif %}}</p>
{P}{{% if next_attempt %}}Wir versuchen es am {{{{ next_attempt }}}} erneut. {{% endif %}}Falls sich Ihre Zahlungsdaten geändert haben, aktualisieren Sie sie bitte:</p>
{BUTTON.format(url="{{ payment_methods_url }}", label="Zahlungsart ändern")}
{SMALL}Falls Sie bereits bezahlt haben, betrachten Sie diese E-Mail bitte als gegenstandslos.</p>
{_signature("de")}""",
    },
    ("invitation_expiring", "en"): {
        "subject": "Your invitation to {{ offer_name }} expires on {{ expires_at }}",
        "body_text": f"""{GREETING["en"]}

Your invitation to {{{{ offer_name }}}} from {{{{ merchant_name }}}} expires on {{{{ expires_at }}}}. Accept it before then to get access:
{{{{ invitation_url }}}}

If you do not want to accept it, there is nothing you need to do.

{REGARDS["en"]}
{{{{ merchant_name }}}}
""",
        "content": f"""{P}{GREETING["en"]}</p>
{P}Your invitation to <strong>{{{{ offer_name }}}}</strong> from {{{{ merchant_name }}}} expires on {{{{ expires_at }}}}. Accept it before then to get access.</p>
{BUTTON.format(url="{{ invitation_url }}", label="Accept the invitation")}
{SMALL}If the button does not work, copy this link into your browser:<br>{LINK.format(url="{{ invitation_url }}")}</p>
{SMALL}If you do not want to accept it, there is nothing you need to do.</p>
{_signature("en")}""",
    },
    ("invitation_expiring", "de"): {
        "subject": "Ihre Einladung zu {{ offer_name }} läuft am {{ expires_at }} ab",
        "body_text": f"""{GREETING["de"]}

Ihre Einladung zu {{{{ offer_name }}}} von {{{{ merchant_name }}}} läuft am {{{{ expires_at }}}} ab. Nehmen Sie sie vorher an, um Zugang zu erhalten:
{{{{ invitation_url }}}}

Wenn Sie die Einladung nicht annehmen möchten, müssen Sie nichts weiter tun.

{REGARDS["de"]}
{{{{ merchant_name }}}}
""",
        "content": f"""{P}{GREETING["de"]}</p>
{P}Ihre Einladung zu <strong>{{{{ offer_name }}}}</strong> von {{{{ merchant_name }}}} läuft am {{{{ expires_at }}}} ab. Nehmen Sie sie vorher an, um Zugang zu erhalten.</p>
{BUTTON.format(url="{{ invitation_url }}", label="Einladung annehmen")}
{SMALL}Falls die Schaltfläche nicht funktioniert, kopieren Sie diesen Link in Ihren Browser:<br>{LINK.format(url="{{ invitation_url }}")}</p>
{SMALL}Wenn Sie die Einladung nicht annehmen möchten, müssen Sie nichts weiter tun.</p>
{_signature("de")}""",
    },
}


def create_defaults(apps, schema_editor):
    MailTemplate = apps.get_model("notifications", "MailTemplate")
    for (mail_type, lang), parts in TEMPLATES.items():
        MailTemplate.objects.get_or_create(
            type=mail_type,
            language=lang,
            defaults={
                "subject": parts["subject"],
                "body_text": parts["body_text"],
                "body_html": LAYOUT.format(lang=lang, content=parts["content"], footer=FOOTER[lang]),
                "active": False,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    # Going back leaves the templates: staff may have edited them.
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
